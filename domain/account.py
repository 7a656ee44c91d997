"""An account: a person or a system that signs in, with the roles granted to it. Grants,
revocations, disabling and API keys are events, so the audit trail shows who granted
what (the acting account is in every event's metadata). Secret material (password
hashes, API key hashes) never enters the event log, which is published for ever: only
the fact that a password was set or a key issued does."""

from __future__ import annotations

import re
from enum import StrEnum
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.errors import InvalidInput, NotFound
from domain.text import one_line

USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{2,63}$")
KEY_ID = re.compile(r"^k-[0-9a-f]{12}$")


class Role(StrEnum):
    LIBRARIAN = "librarian"  # acts for its library: requests, answers, ships, receives
    LIBRARY_ADMIN = "library_admin"  # its library's lending policy and staff accounts
    POSTAL_PARTNER = "postal_partner"  # its own parcels: webhook and pickups
    AUDITOR = "auditor"  # reads everything, history included; no commands
    DEPARTMENT = "department"  # reads statistics and postage statements
    NETWORK_ADMIN = "network_admin"  # libraries, partners, accounts


LIBRARY_ROLES = frozenset({Role.LIBRARIAN, Role.LIBRARY_ADMIN})
PARTNER_ROLES = frozenset({Role.POSTAL_PARTNER})
NETWORK_ROLES = frozenset({Role.AUDITOR, Role.DEPARTMENT, Role.NETWORK_ADMIN})
READ_ONLY_ROLES = frozenset({Role.AUDITOR, Role.DEPARTMENT})


def check_role(role: str) -> Role:
    try:
        return Role(role)
    except ValueError:
        allowed = ", ".join(r.value for r in Role)
        raise InvalidInput(f"role {role!r} is not one of: {allowed}") from None


class Account(Aggregate):
    """Its id is derived from the username, so opening an account is idempotent. An
    account belongs to at most one library or one postal partner, fixed when opened."""

    TYPE_NAME = "account"

    class Opened(Aggregate.Created):
        username: str
        display_name: str
        library: str | None
        partner: str | None

    def __init__(
        self, username: str, display_name: str, library: str | None, partner: str | None
    ) -> None:
        self.username = username
        self.display_name = display_name
        self.library = library
        self.partner = partner
        self.roles: set[Role] = set()
        self.disabled = False
        self.keys: dict[str, dict[str, object]] = {}  # key id -> label, revoked

    @staticmethod
    def id_for(username: str) -> UUID:
        return uuid5(NAMESPACE_URL, f"libshare:account:{username}")

    @classmethod
    def open(
        cls,
        username: str,
        display_name: str,
        library: str | None = None,
        partner: str | None = None,
    ) -> Account:
        username = username.strip().lower()
        if not USERNAME.match(username):
            raise InvalidInput(
                f"username {username!r} must be 3 to 64 lower-case letters, digits, '.', "
                "'_' or '-', starting with a letter or digit"
            )
        display_name = one_line(display_name, "display name", 200)
        if library and partner:
            raise InvalidInput("an account belongs to a library or to a partner, not both")
        return cls._create(
            cls.Opened,
            id=cls.id_for(username),
            username=username,
            display_name=display_name,
            library=library.strip().upper() if library else None,
            partner=partner.strip().upper() if partner else None,
        )

    def same_opening(self, display_name: str, library: str | None, partner: str | None) -> bool:
        return (self.display_name, self.library, self.partner) == (
            display_name.strip(),
            library.strip().upper() if library else None,
            partner.strip().upper() if partner else None,
        )

    # -- roles ---------------------------------------------------------------------------------
    def grant(self, role: str) -> None:
        """Grant a role; granting one already held changes nothing (safe to retry)."""
        r = check_role(role)
        if r in LIBRARY_ROLES and not self.library:
            raise InvalidInput(f"{r} needs an account of a library")
        if r in PARTNER_ROLES and not self.partner:
            raise InvalidInput(f"{r} needs an account of a postal partner")
        if r in NETWORK_ROLES and (self.library or self.partner):
            raise InvalidInput(f"{r} is a network role: not for an account of a library/partner")
        # Separation of duties: an auditor never holds a role that can change anything.
        if r is Role.AUDITOR and self.roles - READ_ONLY_ROLES:
            raise InvalidInput("an auditor holds no role that can change anything")
        if r not in READ_ONLY_ROLES and Role.AUDITOR in self.roles:
            raise InvalidInput(f"an auditor's account cannot also be {r}")
        if r not in self.roles:
            self._role_granted(role=r.value)

    @event("RoleGranted")
    def _role_granted(self, role: str) -> None:
        self.roles.add(Role(role))

    def revoke(self, role: str, reason: str) -> None:
        """Revoke a role; revoking one not held changes nothing (safe to retry)."""
        r = check_role(role)
        if r in self.roles:
            self._role_revoked(role=r.value, reason=_reason(reason))

    @event("RoleRevoked")
    def _role_revoked(self, role: str, reason: str) -> None:
        self.roles.discard(Role(role))

    def move_to(self, library: str, why: str) -> bool:
        """The account's library became `library` (a merge, a re-code, ADR 0021): its staff
        work for it from now. False if it is there already or is no library's account."""
        library = library.strip().upper()
        if self.library is None or self.library == library:
            return False
        self._moved(old=self.library, library=library, why=_reason(why))
        return True

    @event("MovedToLibrary")
    def _moved(self, old: str, library: str, why: str) -> None:
        self.library = library

    # -- sign-in -------------------------------------------------------------------------------
    def disable(self, reason: str) -> None:
        if not self.disabled:
            self._disabled(reason=_reason(reason))

    @event("Disabled")
    def _disabled(self, reason: str) -> None:
        self.disabled = True

    def enable(self) -> None:
        if self.disabled:
            self._enabled()

    @event("Enabled")
    def _enabled(self) -> None:
        self.disabled = False

    def password_changed(self) -> None:
        """Record that a new password hash was stored (the hash itself is not an event)."""
        self._password_set()

    @event("PasswordSet")
    def _password_set(self) -> None:
        pass

    def issue_key(self, key_id: str, label: str) -> None:
        if not KEY_ID.match(key_id):
            raise InvalidInput(f"malformed key id {key_id!r}")
        label = label.strip()
        if not label or len(label) > 100:
            raise InvalidInput("an API key needs a label of 1 to 100 characters")
        if key_id not in self.keys:
            self._key_issued(key_id=key_id, label=label)

    @event("ApiKeyIssued")
    def _key_issued(self, key_id: str, label: str) -> None:
        self.keys[key_id] = {"label": label, "revoked": False}

    def revoke_key(self, key_id: str) -> None:
        if key_id not in self.keys:
            raise NotFound(f"account {self.username} has no API key {key_id}")
        if not self.keys[key_id]["revoked"]:
            self._key_revoked(key_id=key_id)

    @event("ApiKeyRevoked")
    def _key_revoked(self, key_id: str) -> None:
        self.keys[key_id]["revoked"] = True

    def key_active(self, key_id: str) -> bool:
        return key_id in self.keys and not self.keys[key_id]["revoked"]


def _reason(reason: str) -> str:
    reason = reason.strip()
    if not reason or len(reason) > 500:
        raise InvalidInput("a reason of 1 to 500 characters is needed")
    return reason
