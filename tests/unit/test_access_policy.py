"""Accounts and the access policy, without I/O: who may hold which role, and what each
role may do on its own library's resources and on others'."""

from __future__ import annotations

import pytest

from domain.access import Forbidden, Permission, Principal, decide, decide_grant, may
from domain.account import Account, Role
from domain.errors import InvalidInput, NotFound


def principal(*roles: Role, library: str | None = None, kind: str | None = None) -> Principal:
    return Principal("someone", frozenset(roles), library=library, library_kind=kind)


def test_an_account_is_opened_once_by_username_and_replays_to_the_same_state() -> None:
    acc = Account.open("Lan.KB", "Nguyễn Thị Lan", library="hnm-kb")
    acc.grant("librarian")
    acc.grant("librarian")  # a retry records nothing
    acc.issue_key("k-0123456789ab", "scanner")
    acc.revoke_key("k-0123456789ab")
    acc.disable("left the library")
    events = acc.collect_events()
    assert [type(e).__name__ for e in events] == [
        "Opened",
        "RoleGranted",
        "ApiKeyIssued",
        "ApiKeyRevoked",
        "Disabled",
    ]
    replayed = None
    for e in events:
        replayed = e.mutate(replayed)
    assert isinstance(replayed, Account)
    assert (replayed.username, replayed.library, replayed.roles, replayed.disabled) == (
        "lan.kb",
        "HNM-KB",
        {Role.LIBRARIAN},
        True,
    )
    assert not replayed.key_active("k-0123456789ab")
    assert acc.id == Account.id_for("lan.kb")


@pytest.mark.parametrize(
    ("library", "partner", "role"),
    [
        (None, None, "librarian"),  # a librarian belongs to a library
        (None, "VNPOST", "library_admin"),
        ("HNM-KB", None, "postal_partner"),
        ("HNM-KB", None, "auditor"),  # network roles are not for a library's staff
        (None, None, "superuser"),
    ],
)
def test_roles_fit_the_account_they_are_granted_to(
    library: str | None, partner: str | None, role: str
) -> None:
    acc = Account.open("someone", "Someone", library=library, partner=partner)
    with pytest.raises(InvalidInput):
        acc.grant(role)


def test_an_auditor_never_also_holds_a_role_that_changes_things() -> None:
    acc = Account.open("kiemtoan", "Kiểm toán")
    acc.grant("auditor")
    acc.grant("department")  # read-only too
    with pytest.raises(InvalidInput, match="auditor"):
        acc.grant("network_admin")
    admin = Account.open("quantri", "Quản trị")
    admin.grant("network_admin")
    with pytest.raises(InvalidInput, match="auditor"):
        admin.grant("auditor")


def test_a_librarian_acts_only_where_her_library_is_a_party() -> None:
    lan = principal(Role.LIBRARIAN, library="HNM-KB", kind="district")
    assert may(lan, Permission.REQUEST_ACT, library={"HNM-KB", "HNM-TVT"}) is Role.LIBRARIAN
    assert may(lan, Permission.REQUEST_ACT, library={"HNM-DT", "HNM-TVT"}) is None
    assert may(lan, Permission.REQUEST_ACT) is None  # no resource named: no scoped right
    with pytest.raises(NotFound, match="secret"):
        decide(lan, Permission.REQUEST_READ, library={"HNM-DT"}, secret="secret")
    with pytest.raises(Forbidden):
        decide(lan, Permission.STATISTICS_READ)


def test_read_only_roles_read_everywhere_and_command_nothing() -> None:
    auditor = principal(Role.AUDITOR)
    department = principal(Role.DEPARTMENT)
    commands = [
        Permission.REQUEST_CREATE,
        Permission.REQUEST_ACT,
        Permission.POLICY_SET,
        Permission.LIBRARIES_MANAGE,
        Permission.ACCOUNTS_MANAGE,
        Permission.PARTNERS_MANAGE,
        Permission.PROJECTIONS_REPLAY,
    ]
    for p in commands:
        assert may(auditor, p, library="HNM-KB") is None
        assert may(department, p, library="HNM-KB") is None
    assert may(auditor, Permission.REQUEST_READ, library="HNM-DT") is Role.AUDITOR
    assert may(department, Permission.STATISTICS_READ) is Role.DEPARTMENT
    assert may(department, Permission.REQUEST_READ, library="HNM-DT") is None


def test_a_library_administrator_grants_only_library_roles_on_its_own_staff() -> None:
    admin = principal(Role.LIBRARY_ADMIN, library="HNM-KB")
    assert decide_grant(admin, Role.LIBRARIAN, "HNM-KB") is Role.LIBRARY_ADMIN
    with pytest.raises(Forbidden):
        decide_grant(admin, Role.NETWORK_ADMIN, "HNM-KB")
    with pytest.raises(Forbidden):
        decide_grant(admin, Role.LIBRARIAN, "HNM-DT")
    network = principal(Role.NETWORK_ADMIN)
    assert decide_grant(network, Role.AUDITOR, None) is Role.NETWORK_ADMIN


def test_scoped_works_are_seen_by_their_scope_and_by_auditors_only() -> None:
    assert principal(Role.LIBRARIAN, library="HNM-CA", kind="armed_forces").work_scope == (
        "armed_forces"
    )
    assert principal(Role.LIBRARIAN, library="HNM-KB", kind="district").work_scope == "district"
    assert principal(Role.DEPARTMENT).work_scope == ""  # unscoped works only
    assert principal(Role.AUDITOR).work_scope is None  # every work
