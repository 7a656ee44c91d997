"""Who may do what: the one policy that decides every command and every read-model query
from (account, role, library, resource). Endpoints declare the permission they need and
name the resource's library or partner; they carry no checks of their own. Commands are
decided here through `authorise` by the one entry (services/entry.py), for accounts and
for the platform's own processes alike (the timers, a partner's signed webhook, the demo
loader), which are no accounts and hold only the permissions named below."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from domain.account import LIBRARY_ROLES, Role
from domain.errors import DomainError, NotFound


class Forbidden(DomainError):
    """A known account without the right to do this."""

    slug = "forbidden"
    title = "Not allowed for your account"


class Hidden(NotFound):
    """A resource whose very existence is not the caller's to know: answered as if there
    were none."""


class Scope(StrEnum):
    ANY = "any"  # every library's resources
    OWN_LIBRARY = "own_library"  # resources of the account's library (or where it is a party)
    OWN_PARTNER = "own_partner"  # the postal partner's own parcels


class Permission(StrEnum):
    CATALOGUE_READ = "catalogue.read"
    REQUEST_CREATE = "requests.create"
    REQUEST_READ = "requests.read"
    REQUEST_ACT = "requests.act"
    SHIPMENTS_READ = "shipments.read"
    POSTAGE_READ = "postage.read"
    STATISTICS_READ = "statistics.read"
    LIBRARIES_MANAGE = "libraries.manage"
    LIBRARIES_REORGANISE = "libraries.reorganise"  # rename, re-code, re-parent, merge
    POLICY_SET = "libraries.policy"
    PROJECTIONS_READ = "projections.read"
    PROJECTIONS_REPLAY = "projections.replay"
    ACCOUNTS_READ = "accounts.read"
    ACCOUNTS_MANAGE = "accounts.manage"
    PARTNERS_MANAGE = "partners.manage"
    PARTNER_PICKUPS = "partners.pickups"
    COPIES_REGISTER = "copies.register"
    COPIES_CIRCULATE = "copies.circulate"
    COPIES_WITHDRAW = "copies.withdraw"
    TRANSFERS_READ = "transfers.read"
    TRANSFERS_PROPOSE = "transfers.propose"
    TRANSFERS_ACT = "transfers.act"
    TRANSFERS_APPROVE_NETWORK = "transfers.approve_network"
    ROTATIONS_MANAGE = "rotations.manage"
    READERS_REGISTER = "readers.register"  # a card for a reader of the library
    READERS_READ = "readers.read"  # the card with its personal data, at the desk
    READERS_MANAGE = "readers.manage"  # consent, activate, renew, suspend, reinstate
    READERS_ERASE = "readers.erase"  # erase a reader; hand them their data
    # A reader acting on their own card (proved by its access key): no role holds it.
    READERS_SELF = "readers.self"
    DIGITAL_SELF = "digital.self"  # a reader's own digital loans and holds
    DIGITAL_READ = "digital.read"  # a digitised work's pool: rights, availability, waitlist
    DIGITAL_RIGHTS = "digital.rights"  # record rights, set the lendable count
    DIGITAL_LEND = "digital.lend"  # loans, holds and viewer links for the library's readers
    AUDIT_READ = "audit.read"  # the verifiable log: checkpoints, proofs, exports (ADR 0026)
    # Import the library's MARC21 catalogue; reverse a merge of its records (ADR 0025).
    CATALOGUE_IMPORT = "catalogue.import"
    # Held by no account's role, only by the platform's own processes (below).
    CATALOGUE_MANAGE = "catalogue.manage"
    SHIPMENT_EVENTS = "partners.shipment_events"
    TIMERS_RUN = "timers.run"
    DIGITAL_VIEW = "digital.view"  # a page through a signed viewer link
    ISO18626_PEERS = "iso18626.peers"  # configure outside ISO 18626 peers (ADR 0028)
    ISO18626_READ = "iso18626.read"  # a request's ISO 18626 messages, verbatim
    ISO18626_PEER = "iso18626.peer"  # an outside peer's own messages (no role holds it)
    ISO18626_OUTBOX = "iso18626.outbox"  # the outbox worker records what it sent
    HISTORY_CUT = "history.cut"  # a restore as of an instant records the cut (ADR 0024)
    # A library's own rows of the statistics, in the web UI (ADR 0032).
    LIBRARY_STATISTICS_READ = "statistics.library.read"


# What every event records of who acted: an account, its role and library or partner; or
# one of the platform's own processes (the timers, a partner's signed webhook).
Actor = dict[str, Any]

L, A, P = Scope.OWN_LIBRARY, Scope.ANY, Scope.OWN_PARTNER
R = Role

# permission -> the roles that hold it, and over which resources.
RULES: dict[Permission, dict[Role, Scope]] = {
    Permission.CATALOGUE_READ: {R.LIBRARIAN: L, R.LIBRARY_ADMIN: L, R.AUDITOR: A},
    Permission.REQUEST_CREATE: {R.LIBRARIAN: L},
    Permission.REQUEST_READ: {R.LIBRARIAN: L, R.LIBRARY_ADMIN: L, R.AUDITOR: A},
    Permission.REQUEST_ACT: {R.LIBRARIAN: L},
    Permission.SHIPMENTS_READ: {R.LIBRARIAN: L, R.LIBRARY_ADMIN: L, R.AUDITOR: A},
    Permission.POSTAGE_READ: {R.LIBRARY_ADMIN: L, R.DEPARTMENT: A, R.AUDITOR: A},
    Permission.STATISTICS_READ: {R.DEPARTMENT: A, R.AUDITOR: A, R.NETWORK_ADMIN: A},
    Permission.LIBRARIES_MANAGE: {R.NETWORK_ADMIN: A},
    Permission.LIBRARIES_REORGANISE: {R.NETWORK_ADMIN: A},
    Permission.POLICY_SET: {R.LIBRARY_ADMIN: L},
    Permission.PROJECTIONS_READ: {R.AUDITOR: A, R.NETWORK_ADMIN: A},
    Permission.PROJECTIONS_REPLAY: {R.NETWORK_ADMIN: A},
    Permission.ACCOUNTS_READ: {R.NETWORK_ADMIN: A, R.AUDITOR: A, R.LIBRARY_ADMIN: L},
    Permission.ACCOUNTS_MANAGE: {R.NETWORK_ADMIN: A, R.LIBRARY_ADMIN: L},
    Permission.PARTNERS_MANAGE: {R.NETWORK_ADMIN: A},
    Permission.PARTNER_PICKUPS: {R.POSTAL_PARTNER: P},
    Permission.COPIES_REGISTER: {R.LIBRARY_ADMIN: L},
    Permission.COPIES_CIRCULATE: {R.LIBRARIAN: L},
    Permission.COPIES_WITHDRAW: {R.LIBRARY_ADMIN: L},
    Permission.TRANSFERS_READ: {
        R.LIBRARIAN: L,
        R.LIBRARY_ADMIN: L,
        R.AUDITOR: A,
        R.DEPARTMENT: A,
        R.NETWORK_ADMIN: A,
    },
    Permission.TRANSFERS_PROPOSE: {R.LIBRARIAN: L},
    Permission.TRANSFERS_ACT: {R.LIBRARIAN: L},
    Permission.TRANSFERS_APPROVE_NETWORK: {R.NETWORK_ADMIN: A},
    Permission.ROTATIONS_MANAGE: {R.LIBRARIAN: L},
    Permission.READERS_REGISTER: {R.LIBRARIAN: L},
    Permission.READERS_READ: {R.LIBRARIAN: L, R.LIBRARY_ADMIN: L},
    Permission.READERS_MANAGE: {R.LIBRARIAN: L},
    Permission.READERS_ERASE: {R.LIBRARY_ADMIN: L},
    Permission.READERS_SELF: {},
    Permission.DIGITAL_SELF: {},
    Permission.DIGITAL_READ: {R.LIBRARIAN: A, R.LIBRARY_ADMIN: A, R.AUDITOR: A},
    Permission.DIGITAL_RIGHTS: {R.LIBRARY_ADMIN: L},
    Permission.DIGITAL_LEND: {R.LIBRARIAN: L},
    Permission.AUDIT_READ: {R.AUDITOR: A},
    Permission.CATALOGUE_IMPORT: {R.LIBRARY_ADMIN: L},
    Permission.CATALOGUE_MANAGE: {},
    Permission.SHIPMENT_EVENTS: {},
    Permission.TIMERS_RUN: {},
    Permission.DIGITAL_VIEW: {},
    Permission.ISO18626_PEERS: {R.NETWORK_ADMIN: A},
    Permission.ISO18626_READ: {R.LIBRARIAN: L, R.LIBRARY_ADMIN: L, R.AUDITOR: A},
    Permission.ISO18626_PEER: {},
    Permission.ISO18626_OUTBOX: {},
    Permission.HISTORY_CUT: {},
    Permission.LIBRARY_STATISTICS_READ: {R.LIBRARIAN: L, R.LIBRARY_ADMIN: L},
}

ROLE_ORDER = list(Role)


@dataclass(frozen=True)
class Principal:
    """An authenticated, enabled account as the policy sees it."""

    account: str
    roles: frozenset[Role]
    library: str | None = None
    library_kind: str | None = None
    partner: str | None = None

    @property
    def work_scope(self) -> str | None:
        """The library kind whose visibility-scoped works this account sees; None: all
        works (auditors); "": only unscoped works (accounts of no library)."""
        if Role.AUDITOR in self.roles:
            return None
        return self.library_kind or ""

    def actor(self, role: Role) -> Actor:
        """What every event records of who acted."""
        found: Actor = {"account": self.account, "role": role.value}
        if self.library:
            found["library"] = self.library
        if self.partner:
            found["partner"] = self.partner
        return found


@dataclass(frozen=True)
class Platform:
    """One of the platform's own processes acting, not an account: trusted with
    `permissions` over every resource (or, with `partner`, over that partner's only), and
    recorded in its events as `actor`."""

    name: str
    actor: Actor = field(compare=False)
    permissions: frozenset[Permission]
    partner: str | None = None
    reader: str | None = None  # a reader's own card: the only one they act on


# The timers: every wait in a request's lifecycle ends (workers/timers.py).
TIMERS = Platform(
    "timers", {"account": "libshare-timers", "role": "system"}, frozenset({Permission.TIMERS_RUN})
)
# The demo network and its accounts, loaded through commands on a first start.
DEMO_LOADER = Platform(
    "demo-loader",
    {"account": "demo-loader", "role": "network_admin"},
    frozenset(
        {
            Permission.LIBRARIES_MANAGE,
            Permission.LIBRARIES_REORGANISE,
            Permission.POLICY_SET,
            Permission.CATALOGUE_MANAGE,
            Permission.COPIES_REGISTER,
            Permission.PARTNERS_MANAGE,
            Permission.ACCOUNTS_MANAGE,
            Permission.DIGITAL_RIGHTS,
        }
    ),
)

# Whoever holds a viewer link of a digital loan: the signed link is the credential, and
# the loan behind it is checked on every page (services/digital.py).
VIEWER_LINK = Platform(
    "viewer-link",
    {"account": "viewer-link", "role": "reader", "via": "viewer link"},
    frozenset({Permission.DIGITAL_VIEW}),
)


# Upgrades of the store through commands (composition/copies_migration.py).
MIGRATIONS = Platform(
    "migrations",
    {"account": "libshare-migrations", "role": "system"},
    frozenset({Permission.CATALOGUE_MANAGE}),
)


# `libshare catalogue import` and the OAI-PMH harvester, for any library (ADR 0025).
CATALOGUE_IMPORTER = Platform(
    "catalogue-import",
    {"account": "libshare-catalogue-import", "role": "system"},
    frozenset({Permission.CATALOGUE_IMPORT}),
)


# The operator's `libshare restore --as-of`, on the server: records where history was cut.
RESTORE = Platform(
    "restore",
    {"account": "libshare-restore", "role": "system", "via": "libshare restore"},
    frozenset({Permission.HISTORY_CUT}),
)


def carrier_webhook(partner: str) -> Platform:
    """A postal partner's carrier updates, proven by the webhook's signature: the carrier
    acts on that partner's shipments only."""
    return Platform(
        "carrier-webhook",
        {"partner": partner, "role": "postal_partner", "via": "webhook"},
        frozenset({Permission.SHIPMENT_EVENTS}),
        partner=partner,
    )


# The public online registration form of the libraries' website.
ONLINE_REGISTRATION = Platform(
    "online-registration",
    {"account": "online-registration", "role": "system", "via": "web"},
    frozenset({Permission.READERS_REGISTER}),
)


def reader_self(reader_ref: str) -> Platform:
    """A reader, proven by their card's access key, acting on their own card only."""
    return Platform(
        "reader",
        {"reader": reader_ref, "role": "reader"},
        frozenset({Permission.READERS_SELF, Permission.DIGITAL_SELF}),
        reader=reader_ref,
    )


# Who calls a command: an account, or one of the platform's processes.
Caller = Principal | Platform


def may(
    principal: Principal,
    permission: Permission,
    *,
    library: str | Iterable[str] | None = None,
    partner: str | None = None,
) -> Role | None:
    """The role under which `principal` may do `permission` on a resource of `library` (a
    code, or every library party to it) or of `partner`; None if no role allows it. A
    resource of no library or partner is open only to roles of scope ANY."""
    libraries = {library} if isinstance(library, str) else set(library or ())
    rules = RULES[permission]
    for role in sorted(principal.roles & rules.keys(), key=ROLE_ORDER.index):
        scope = rules[role]
        if scope is Scope.ANY:
            return role
        if scope is Scope.OWN_LIBRARY and principal.library in libraries:
            return role
        if scope is Scope.OWN_PARTNER and principal.partner and principal.partner == partner:
            return role
    return None


def decide(
    principal: Principal,
    permission: Permission,
    *,
    library: str | Iterable[str] | None = None,
    partner: str | None = None,
    secret: str | None = None,
) -> Role:
    """Like `may`, but raises: Forbidden, or NotFound(secret) where the resource's very
    existence must not be told to those who may not see it."""
    role = may(principal, permission, library=library, partner=partner)
    if role is not None:
        return role
    if secret is not None:
        raise Hidden(secret)
    raise Forbidden(f"your account may not {permission.value.replace('.', ': ')} here")


def holds_any(principal: Principal, permission: Permission) -> bool:
    """Whether some resource exists on which `principal` may do `permission` (the check
    made before a request's resource is known)."""
    return bool(principal.roles & RULES[permission].keys())


def decide_grant(principal: Principal, role: Role, account_library: str | None) -> Role:
    """Who may grant or revoke `role` on an account of `account_library`: a network
    administrator any role; a library administrator only library roles on its staff."""
    acting = decide(principal, Permission.ACCOUNTS_MANAGE, library=account_library)
    if acting is Role.LIBRARY_ADMIN and role not in LIBRARY_ROLES:
        raise Forbidden(f"a library administrator grants only library roles, not {role}")
    return acting


def authorise(
    caller: Caller,
    permission: Permission,
    *,
    library: str | Iterable[str] | None = None,
    partner: str | None = None,
    secret: str | None = None,
    reader: str | None = None,
) -> Actor:
    """Decide a command as `decide` does, and return who it records as acting: the
    account under the role that allows it, or the platform process (a reader: on
    `reader`, their own card, only)."""
    if isinstance(caller, Platform):
        if (
            permission in caller.permissions
            and caller.partner in (None, partner)
            and caller.reader in (None, reader)
        ):
            return dict(caller.actor)
        if secret is not None:
            raise Hidden(secret)
        raise Forbidden(f"{caller.name} may not {permission.value.replace('.', ': ')} here")
    return caller.actor(decide(caller, permission, library=library, partner=partner, secret=secret))


def authorise_grant(caller: Caller, role: Role, account_library: str | None) -> Actor:
    """Decide granting or revoking `role` on an account of `account_library` as
    `decide_grant` does; a platform process that manages accounts grants any role."""
    if isinstance(caller, Platform):
        return authorise(caller, Permission.ACCOUNTS_MANAGE, library=account_library)
    return caller.actor(decide_grant(caller, role, account_library))


def iso_peer(library: str) -> Platform:
    """An outside ISO 18626 peer, proven by its shared secret, acting as the library it
    stands as in our network (ADR 0028), on the requests it is party to only."""
    return Platform(
        "iso-peer",
        {"iso_peer": library, "role": "iso_peer", "via": "iso18626"},
        frozenset({Permission.ISO18626_PEER}),
        partner=library,
    )


# The ISO 18626 outbox (workers/iso_outbox.py): records the messages it sent.
ISO_OUTBOX = Platform(
    "iso-outbox",
    {"account": "libshare-iso-outbox", "role": "system"},
    frozenset({Permission.ISO18626_OUTBOX}),
)
