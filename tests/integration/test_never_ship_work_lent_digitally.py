"""A request for a never-ship work is answered with the digital copy instead of ending
Unfilled: the pool's loan and the request's ISO Loaned (delivered format URL) in one
transaction; the requesting library opens viewer links for its reader; when the timers
expire the digital loan, the request is complete (never overdue, nothing to post back).
With no digital copy free, the request waits on the waitlist:
test_ill_waits_for_a_digital_copy.py."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from uuid import UUID

import pytest

from composition.bootstrap import System
from composition.demo_network import load_demo
from domain.access import VIEWER_LINK, Principal
from domain.account import Role
from domain.digital_errors import ViewerLinkDead
from domain.errors import IllegalTransition
from domain.ill_status import Status
from infra.clock import utc_now
from projections.requests import detail
from services.commands import DigitalLoanStep, IssueViewerLink, RequestItem, ViewPage
from tests.actors import TESTER
from tests.integration.support import eventually

SCHOOL = Principal(
    "thuthu.bh", frozenset({Role.LIBRARIAN}), library="HNM-S-BH", library_kind="school"
)


@pytest.fixture
def network(make_system: Callable[..., System], tmp_path: Path) -> System:
    system = make_system(digital_pages_dir=tmp_path / "pages")
    load_demo(system)
    system.start_projector()
    eventually(lambda: bool(system.candidate_finder("W-KIEU")), what="the catalogue")
    return system


def test_a_never_ship_work_is_lent_as_a_url_and_completes_when_the_loan_expires(
    network: System,
) -> None:
    act = network.entry.act
    answer = act(SCHOOL, RequestItem("W-THANTICH", "BD-0042"))
    assert answer["status"] == "Loaned" and answer["supplier"] == "HNM-TVT"
    request = network.requests.get_request(UUID(answer["id"]))
    assert request.delivered_format == "URL"
    loan_id = request.item_id
    assert loan_id is not None
    pool = network.digital.pool("W-THANTICH")
    assert pool.loans[loan_id]["ill_request"] == answer["id"]
    assert pool.loans[loan_id]["library"] == "HNM-S-BH"  # the reader's library

    link = act(SCHOOL, IssueViewerLink("W-THANTICH", loan_id))
    assert act(VIEWER_LINK, ViewPage(link["token"], 1))[1] == "image/svg+xml"

    def shown(**expected: object) -> None:
        def check() -> bool:
            with network.db.transaction() as conn:
                row = detail(conn, UUID(answer["id"])) or {}
            return all(row.get(k) == v for k, v in expected.items())

        eventually(check, what=f"the request to show {expected}")

    shown(status="Loaned")
    # Nothing is posted back; the requesting library renews the digital loan itself
    # (nobody waits), and the request's due date follows.
    with pytest.raises(IllegalTransition):
        network.requests.take_action(
            TESTER, request.id, library="HNM-S-BH", action="ShippedReturn", params={}, now=utc_now()
        )
    before = network.digital.pool("W-THANTICH").loans[loan_id]["due_at"]
    act(SCHOOL, DigitalLoanStep("W-THANTICH", loan_id, "renew"))
    pool = network.digital.pool("W-THANTICH")
    due = pool.loans[loan_id]["due_at"]
    assert due > before
    assert network.requests.get_request(request.id).due_date == due.date()
    done = network.timers().run_once(due)
    assert done["digital_expired"] == 1 and done["overdue"] == 0
    assert network.requests.get_request(UUID(answer["id"])).status is Status.LOAN_COMPLETED
    with pytest.raises(ViewerLinkDead):
        act(VIEWER_LINK, ViewPage(link["token"], 1))
    shown(status="LoanCompleted")
