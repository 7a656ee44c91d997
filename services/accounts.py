"""Accounts: open, grant and revoke roles, disable, passwords and API keys; and the checks
that sign a caller in. Every command is safe to retry. Secret material lives in the
credentials store (infra/credentials.py), never in the events."""

from __future__ import annotations

from datetime import date
from typing import Any

from eventsourcing.persistence import IntegrityError

from domain.access import Actor
from domain.account import Account
from domain.errors import AlreadyExists, InvalidInput, NotFound
from infra.credentials import MIN_PASSWORD, Credentials
from infra.network_app import NetworkApp
from services import aggregates


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


class AccountsService:
    def __init__(self, store: NetworkApp, credentials: Credentials) -> None:
        self.store = store
        self.credentials = credentials

    def open_account(
        self,
        actor: Actor,
        username: str,
        display_name: str,
        *,
        library: str | None = None,
        partner: str | None = None,
        roles: tuple[str, ...] | list[str] = (),
        password: str | None = None,
        today: date | None = None,
    ) -> tuple[dict[str, Any], bool]:
        """Open an account with its first roles; a repeat with the same data returns it
        (created=False) and changes nothing but a missing password. A library merged by
        `today` opens no new accounts (its staff work for the library it joined)."""
        if password is not None:
            _check_password(password)
        if library:
            the_library = aggregates.library(self.store, library)
            if today is not None:
                the_library.refuse_work(today, "the library of a new account")
            library = the_library.code
        if partner:
            partner = aggregates.partner(self.store, partner).code
        acc = Account.open(username, display_name, library, partner)
        for role in roles:
            acc.grant(role)
        if password is not None:
            acc.password_changed()
        try:
            self.store.record(acc, actor=actor)
            created = True
        except IntegrityError:
            acc = self.get_account(acc.username)
            if not acc.same_opening(display_name, library, partner):
                raise AlreadyExists(f"account {acc.username} exists with other data") from None
            created = False
        if password is not None and (created or not self.credentials.has_password(acc.username)):
            self.credentials.set_password(acc.username, password)
        return account_summary(acc), created

    def get_account(self, username: str) -> Account:
        return aggregates.account(self.store, username)

    def current_account(self, username: str) -> Account:
        """The account as it is now, for reading only (never change the object)."""
        return aggregates.current_account(self.store, username)

    def grant_role(self, actor: Actor, username: str, role: str) -> dict[str, Any]:
        acc = self.get_account(username)
        acc.grant(role)
        self.store.record(acc, actor=actor)
        return account_summary(acc)

    def revoke_role(self, actor: Actor, username: str, role: str, reason: str) -> dict[str, Any]:
        acc = self.get_account(username)
        acc.revoke(role, reason)
        self.store.record(acc, actor=actor)
        return account_summary(acc)

    def disable_account(self, actor: Actor, username: str, reason: str) -> dict[str, Any]:
        acc = self.get_account(username)
        acc.disable(reason)
        self.store.record(acc, actor=actor)
        return account_summary(acc)

    def enable_account(self, actor: Actor, username: str) -> dict[str, Any]:
        acc = self.get_account(username)
        acc.enable()
        self.store.record(acc, actor=actor)
        return account_summary(acc)

    def set_password(self, actor: Actor, username: str, password: str) -> dict[str, Any]:
        _check_password(password)
        acc = self.get_account(username)
        self.credentials.set_password(acc.username, password)
        acc.password_changed()
        self.store.record(acc, actor=actor)
        return account_summary(acc)

    def issue_api_key(self, actor: Actor, username: str, label: str) -> tuple[str, str]:
        """A new API key for a system or partner: (key id, the key, shown only now)."""
        acc = self.get_account(username)
        key_id, key = self.credentials.new_api_key(acc.username)
        acc.issue_key(key_id, label)  # the stored hash is inert until this event is saved
        self.store.record(acc, actor=actor)
        return key_id, key

    def revoke_api_key(self, actor: Actor, username: str, key_id: str) -> dict[str, Any]:
        acc = self.get_account(username)
        acc.revoke_key(key_id)
        self.store.record(acc, actor=actor)
        return account_summary(acc)

    # -- signing in --------------------------------------------------------------------------
    def sign_in_with_password(self, username: str, password: str) -> Account | None:
        """The enabled account these credentials prove, else None (no reason given)."""
        username = username.strip().lower()
        if not self.credentials.check_password(username, password):
            return None
        try:
            acc = self.get_account(username)
        except NotFound:
            return None
        return None if acc.disabled else acc

    def sign_in_with_key(self, presented: str) -> Account | None:
        """The enabled account an active API key belongs to, else None."""
        owner = self.credentials.api_key_owner(presented)
        if owner is None:
            return None
        username, key_id = owner
        try:
            acc = self.current_account(username)
        except NotFound:
            return None
        return acc if acc.key_active(key_id) and not acc.disabled else None
