"""A viewer link of a digital loan on the real event store and read model: it opens pages
while the loan runs (each page an event), and stops working the moment the loan ends:
expired by the timer worker, the only actor after the loan was made, or returned early;
the copy it freed goes to the first reader waiting."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from composition.bootstrap import System
from composition.demo_network import load_demo
from domain.access import VIEWER_LINK, Principal
from domain.account import Role
from domain.digital_access import LoanAccess
from domain.digital_errors import NoCopyFree, ViewerLinkDead
from domain.errors import IllegalTransition
from infra.clock import utc_now
from projections.digital import pool_detail
from services.commands import (
    BorrowDigital,
    CheckOutCopy,
    DigitalLoanStep,
    IssueViewerLink,
    PlaceDigitalHold,
    ViewPage,
)
from tests.integration.support import eventually

KB = Principal("thuthu.kb", frozenset({Role.LIBRARIAN}), library="HNM-KB", library_kind="district")
TVT = Principal(
    "thuthu.tvt", frozenset({Role.LIBRARIAN}), library="HNM-TVT", library_kind="provincial"
)
DT = Principal("thuthu.dt", frozenset({Role.LIBRARIAN}), library="HNM-DT", library_kind="district")


@pytest.fixture
def network(make_system: Callable[..., System], tmp_path: Path) -> System:
    system = make_system(digital_pages_dir=tmp_path / "pages")
    load_demo(system)
    system.start_projector()
    return system


def shown(system: System, work: str, **expected: int) -> None:
    def check() -> bool:
        with system.db.transaction() as conn:
            row = pool_detail(conn, work, None) or {}
        return all(row.get(k) == v for k, v in expected.items())

    eventually(check, what=f"{work} to show {expected}")


def pages_served(system: System, loan_id: str) -> int:
    access: object = system.app.repository.get(LoanAccess.id_for(loan_id))
    assert isinstance(access, LoanAccess)
    return access.pages_served


def test_the_timers_alone_end_the_loan_and_its_link(network: System) -> None:
    act = network.entry.act
    loan = act(KB, BorrowDigital("W-HUONGUOC", "BD-0042", reader_type="child"))
    due = datetime.fromisoformat(loan["due_at"])
    assert loan["backing"] == "HNM-TVT-W-HUONGUOC-1"  # its physical copy is set aside
    with pytest.raises(IllegalTransition, match="set aside for a digital loan"):
        act(TVT, CheckOutCopy("HNM-TVT-W-HUONGUOC-1", "BD-0900"))
    act(DT, PlaceDigitalHold("W-HUONGUOC", "BD-0777"))
    link = act(KB, IssueViewerLink("W-HUONGUOC", loan["loan_id"]))
    assert link["pages"] == 3
    body, media_type = act(VIEWER_LINK, ViewPage(link["token"], 1))
    assert media_type == "image/svg+xml" and b"Trang 1/3" in body
    act(VIEWER_LINK, ViewPage(link["token"], 2))
    assert pages_served(network, loan["loan_id"]) == 2
    shown(network, "W-HUONGUOC", active_loans=1, waiting=1)

    # Nobody acts but the timer worker: before the due time nothing happens ...
    timers = network.timers()
    assert timers.run_once(due - timedelta(minutes=1))["digital_expired"] == 0
    act(VIEWER_LINK, ViewPage(link["token"], 3))
    # ... at the due time the loan expires, and the same link, still within its own
    # lifetime, opens nothing any more.
    assert timers.run_once(due)["digital_expired"] == 1
    with pytest.raises(ViewerLinkDead):
        act(VIEWER_LINK, ViewPage(link["token"], 1))
    assert pages_served(network, loan["loan_id"]) == 3
    pool = network.digital.pool("W-HUONGUOC")
    hold = pool.hold_of("BD-0777")
    assert not pool.loans and hold and hold["offered_until"] == due + timedelta(hours=48)
    shown(network, "W-HUONGUOC", active_loans=0, waiting=1)
    # The offer waits its pickup window, then the timers lapse it too.
    later = due + timedelta(hours=49)
    assert timers.run_once(later)["offers_lapsed"] == 1
    assert not network.digital.pool("W-HUONGUOC").holds
    # Released: the desk lends the physical copy, and then no digital copy is free.
    act(TVT, CheckOutCopy("HNM-TVT-W-HUONGUOC-1", "BD-0900"))
    with pytest.raises(NoCopyFree):
        act(KB, BorrowDigital("W-HUONGUOC", "BD-0901"))


def test_a_link_dies_the_moment_its_loan_is_returned(network: System) -> None:
    act = network.entry.act
    loan = act(DT, BorrowDigital("W-THANTICH", "BD-0100", reader_type="researcher"))
    link = act(DT, IssueViewerLink("W-THANTICH", loan["loan_id"]))
    act(VIEWER_LINK, ViewPage(link["token"], 1))
    act(DT, DigitalLoanStep("W-THANTICH", loan["loan_id"], "return"))
    with pytest.raises(ViewerLinkDead):
        act(VIEWER_LINK, ViewPage(link["token"], 1))
    forged = link["token"][:-2] + ("AA" if not link["token"].endswith("AA") else "BB")
    with pytest.raises(ViewerLinkDead):
        act(VIEWER_LINK, ViewPage(forged, 1))
    assert utc_now() < datetime.fromisoformat(link["expires_at"])  # the link itself had not expired
