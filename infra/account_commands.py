"""The write side of accounts: open, grant and revoke roles, disable, passwords and API
keys; and the checks that sign a caller in. Every command is safe to retry."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError

from domain.account import Account
from domain.errors import AlreadyExists, InvalidInput, NotFound
from infra.credentials import MIN_PASSWORD
from infra.fresh_aggregates import FreshAggregates

if TYPE_CHECKING:
    from infra.credentials import Credentials
    from infra.network_app import NetworkApp


def account_summary(acc: Account) -> dict[str, Any]:
    return {
        "username": acc.username,
        "display_name": acc.display_name,
        "library": acc.library,
        "partner": acc.partner,
        "roles": sorted(r.value for r in acc.roles),
        "disabled": acc.disabled,
        "api_keys": [
            {"key_id": k, "label": v["label"], "revoked": v["revoked"]} for k, v in acc.keys.items()
        ],
        "version": acc.version,
    }


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD or len(password) > 200:
        raise InvalidInput(f"a password must be {MIN_PASSWORD} to 200 characters")


class AccountCommands:
    """Mixed into NetworkApp (see infra/network_app.py)."""

    credentials: Credentials | None = None
    _fresh: FreshAggregates | None = None

    def fresh(self: NetworkApp) -> FreshAggregates:
        """Aggregates for read-only checks on every request (signing in): cached, and
        brought up to date from the event store on each use (infra/fresh_aggregates.py)."""
        if self._fresh is None:
            self._fresh = FreshAggregates(self)
        return self._fresh

    def current_account(self: NetworkApp, username: str) -> Account:
        """The account as it is now, for reading only (never change the object)."""
        try:
            acc: Account = self.fresh().get(Account.id_for(username.strip().lower()))
        except AggregateNotFoundError:
            raise NotFound(f"no account {username!r}") from None
        return acc

    def _creds(self) -> Credentials:
        assert self.credentials is not None, "bootstrap sets the credentials store"
        return self.credentials

    def open_account(
        self: NetworkApp,
        username: str,
        display_name: str,
        *,
        library: str | None = None,
        partner: str | None = None,
        roles: tuple[str, ...] | list[str] = (),
        password: str | None = None,
    ) -> tuple[dict[str, Any], bool]:
        """Open an account with its first roles; a repeat with the same data returns it
        (created=False) and changes nothing but a missing password."""
        if password is not None:
            _check_password(password)
        if library:
            library = self.get_library(library).code
        if partner:
            partner = self.get_partner(partner).code
        acc = Account.open(username, display_name, library, partner)
        for role in roles:
            acc.grant(role)
        if password is not None:
            acc.password_changed()
        try:
            self._save(acc)
            created = True
        except IntegrityError:
            acc = self.get_account(acc.username)
            if not acc.same_opening(display_name, library, partner):
                raise AlreadyExists(f"account {acc.username} exists with other data") from None
            created = False
        if password is not None and (created or not self._creds().has_password(acc.username)):
            self._creds().set_password(acc.username, password)
        return account_summary(acc), created

    def get_account(self: NetworkApp, username: str) -> Account:
        try:
            acc: Account = self.repository.get(Account.id_for(username.strip().lower()))
        except AggregateNotFoundError:
            raise NotFound(f"no account {username!r}") from None
        return acc

    def grant_role(self: NetworkApp, username: str, role: str) -> dict[str, Any]:
        acc = self.get_account(username)
        acc.grant(role)
        self._save(acc)
        return account_summary(acc)

    def revoke_role(self: NetworkApp, username: str, role: str, reason: str) -> dict[str, Any]:
        acc = self.get_account(username)
        acc.revoke(role, reason)
        self._save(acc)
        return account_summary(acc)

    def disable_account(self: NetworkApp, username: str, reason: str) -> dict[str, Any]:
        acc = self.get_account(username)
        acc.disable(reason)
        self._save(acc)
        return account_summary(acc)

    def enable_account(self: NetworkApp, username: str) -> dict[str, Any]:
        acc = self.get_account(username)
        acc.enable()
        self._save(acc)
        return account_summary(acc)

    def set_password(self: NetworkApp, username: str, password: str) -> dict[str, Any]:
        _check_password(password)
        acc = self.get_account(username)
        self._creds().set_password(acc.username, password)
        acc.password_changed()
        self._save(acc)
        return account_summary(acc)

    def issue_api_key(self: NetworkApp, username: str, label: str) -> tuple[str, str]:
        """A new API key for a system or partner: (key id, the key, shown only now)."""
        acc = self.get_account(username)
        key_id, key = self._creds().new_api_key(acc.username)
        acc.issue_key(key_id, label)  # the stored hash is inert until this event is saved
        self._save(acc)
        return key_id, key

    def revoke_api_key(self: NetworkApp, username: str, key_id: str) -> dict[str, Any]:
        acc = self.get_account(username)
        acc.revoke_key(key_id)
        self._save(acc)
        return account_summary(acc)

    # -- signing in --------------------------------------------------------------------------
    def sign_in_with_password(self: NetworkApp, username: str, password: str) -> Account | None:
        """The enabled account these credentials prove, else None (no reason given)."""
        username = username.strip().lower()
        if not self._creds().check_password(username, password):
            return None
        try:
            acc = self.get_account(username)
        except NotFound:
            return None
        return None if acc.disabled else acc

    def sign_in_with_key(self: NetworkApp, presented: str) -> Account | None:
        """The enabled account an active API key belongs to, else None."""
        owner = self._creds().api_key_owner(presented)
        if owner is None:
            return None
        username, key_id = owner
        try:
            acc = self.current_account(username)
        except NotFound:
            return None
        return acc if acc.key_active(key_id) and not acc.disabled else None
