"""A request for a never-ship work with no digital copy free waits on the pool's waitlist
(ISO ExpectToSupply) instead of ending Unfilled; the copy that comes free is lent to it at
once (Loaned, delivered format URL), with the timers as the only actor. The requesting
library may cancel the wait, and a wait that outlives the request's needed-by day ends
it; either way its place goes to the next in line (ADR 0022)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from composition.bootstrap import System
from composition.demo_network import load_demo
from domain.access import Principal
from domain.account import Role
from domain.ill_status import DIGITAL_WAIT_ENDED, Status
from infra.clock import utc_now
from projections.requests import detail
from services.commands import BorrowDigital, DigitalLoanStep, RequestItem, TakeAction
from tests.integration.support import eventually

SCHOOL = Principal(
    "thuthu.bh", frozenset({Role.LIBRARIAN}), library="HNM-S-BH", library_kind="school"
)
WORK = "W-THANTICH"  # never shipped; one digital copy at HNM-TVT


@pytest.fixture
def network(make_system: Callable[..., System], tmp_path: Path) -> System:
    system = make_system(digital_pages_dir=tmp_path / "pages")
    load_demo(system)
    system.start_projector()
    eventually(lambda: bool(system.candidate_finder("W-KIEU")), what="the catalogue")
    return system


def _shown(network: System, request_id: str, **expected: object) -> dict[str, Any]:
    found: dict[str, Any] = {}

    def check() -> bool:
        with network.db.transaction() as conn:
            found.update(detail(conn, UUID(request_id)) or {})
        return all(found.get(k) == v for k, v in expected.items())

    eventually(check, what=f"the request to show {expected}")
    return found


def _loan_of(network: System, request: dict[str, Any]) -> str:
    return str(network.requests.get_request(UUID(request["id"])).item_id)


def test_a_waiting_request_is_lent_the_copy_the_timers_free(network: System) -> None:
    act = network.entry.act
    first = act(SCHOOL, RequestItem(WORK, "BD-0042"))
    assert first["status"] == "Loaned"
    second = act(SCHOOL, RequestItem(WORK, "BD-0043"))
    assert second["status"] == "ExpectToSupply" and second["supplier"] == "HNM-TVT"
    pool = network.digital.pool(WORK)
    assert pool.position("BD-0043") == 1
    assert pool.hold_of("BD-0043")["ill_request"] == second["id"]  # type: ignore[index]
    row = _shown(network, second["id"], status="ExpectToSupply")
    assert row["answer_due"] is not None  # every wait has its end

    # Nobody acts but the timers: the first loan expires, and the freed copy goes to the
    # waiting request at once, in the same transaction.
    due = network.digital.pool(WORK).loans[_loan_of(network, first)]["due_at"]
    done = network.timers().run_once(due + timedelta(seconds=1))
    assert done["digital_expired"] == 1
    waited = network.requests.get_request(UUID(second["id"]))
    assert waited.status is Status.LOANED and waited.delivered_format == "URL"
    pool = network.digital.pool(WORK)
    assert pool.holds == [] and pool.loans[str(waited.item_id)]["reader_ref"] == "BD-0043"
    assert network.requests.get_request(UUID(first["id"])).status is Status.LOAN_COMPLETED
    _shown(network, second["id"], status="Loaned")


def test_cancelling_a_waiting_request_gives_its_place_up_at_once(network: System) -> None:
    act = network.entry.act
    first = act(SCHOOL, RequestItem(WORK, "BD-0042"))
    second = act(SCHOOL, RequestItem(WORK, "BD-0043"))
    third = act(SCHOOL, RequestItem(WORK, "BD-0044"))
    assert network.digital.pool(WORK).position("BD-0044") == 2

    cancelled = act(SCHOOL, TakeAction(UUID(second["id"]), "Cancel", {"reason": "read elsewhere"}))
    assert cancelled["status"] == "Cancelled"  # no librarian answers for the pool
    pool = network.digital.pool(WORK)
    assert pool.hold_of("BD-0043") is None and pool.position("BD-0044") == 1

    act(SCHOOL, DigitalLoanStep(WORK, _loan_of(network, first), "return"))
    assert network.requests.get_request(UUID(third["id"])).status is Status.LOANED
    assert network.requests.get_request(UUID(second["id"])).status is Status.CANCELLED


def test_a_wait_past_the_needed_by_day_ends_and_the_request_moves_on(network: System) -> None:
    act = network.entry.act
    act(SCHOOL, RequestItem(WORK, "BD-0042"))
    tomorrow = utc_now().date() + timedelta(days=1)
    waiting = act(SCHOOL, RequestItem(WORK, "BD-0043", needed_by=tomorrow))
    assert waiting["status"] == "ExpectToSupply"
    _shown(network, waiting["id"], status="ExpectToSupply")

    request = network.requests.get_request(UUID(waiting["id"]))
    assert request.answer_due is not None and request.answer_due.date() == tomorrow + timedelta(1)
    done = network.timers().run_once(request.answer_due + timedelta(minutes=1))
    assert done["expired"] == 1
    ended = network.requests.get_request(UUID(waiting["id"]))
    assert ended.status is Status.UNFILLED
    assert ended.outcomes[-1] == {"library": "HNM-TVT", "reason": DIGITAL_WAIT_ENDED}
    assert network.digital.pool(WORK).hold_of("BD-0043") is None


def test_the_timers_forget_the_readers_of_digital_loans_ended_long_ago(network: System) -> None:
    act, desk = (
        network.entry.act,
        Principal("thuthu.tvt", frozenset({Role.LIBRARIAN}), library="HNM-TVT"),
    )
    now = utc_now()
    ended = act(desk, BorrowDigital("W-HUONGUOC", "TVT-READER-1"))
    act(desk, DigitalLoanStep("W-HUONGUOC", ended["loan_id"], "return"))
    act(desk, BorrowDigital("W-HUONGUOC", "TVT-READER-2"))  # still on loan

    def readers() -> dict[str, str]:
        with network.db.transaction() as conn:
            rows = conn.execute("SELECT loan_id, reader_ref FROM digital_loans").fetchall()
        return dict(rows)

    eventually(lambda: len(readers()) == 2, what="both loans in the read model")
    timers = network.timers()
    assert timers.run_once(now + timedelta(days=364))["digital_readers_forgotten"] == 0
    eventually(lambda: readers()[ended["loan_id"]] == "TVT-READER-1", what="the loan")
    later = now + timedelta(days=366)
    assert timers.run_once(later)["digital_readers_forgotten"] == 1
    eventually(lambda: readers()[ended["loan_id"]] == "", what="the reader forgotten")
    assert "TVT-READER-2" in readers().values()  # an active loan keeps its reader
    assert "TVT-READER-1" not in network.digital.pool("W-HUONGUOC").last_ended
    assert timers.run_once(later)["digital_readers_forgotten"] == 0  # once
