"""The timers on the real event store and read model: a loan whose receipt was never
confirmed goes overdue, a lagging read model never causes a second reminder on one day,
and the waits on one party remind it and then end."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any
from uuid import UUID

import pytest

from composition.bootstrap import System
from composition.demo_network import load_demo
from infra.clock import utc_now
from projections.requests import detail
from tests.actors import TESTER
from tests.integration.support import eventually

NOW = utc_now()
REQUESTER, SUPPLIER = "HNM-S-BH", "HNM-TVT"  # a school; the provincial library (48 h)


@pytest.fixture
def network(system: System) -> System:
    load_demo(system)
    system.start_projector()
    eventually(lambda: bool(system.candidate_finder("W-KIEU")), what="the catalogue")
    return system


def requested(system: System) -> UUID:
    created = system.requests.request_item(
        TESTER, requester=REQUESTER, work="W-KIEU", reader_ref="BD-0042", now=NOW
    )
    assert created["supplier"] == SUPPLIER
    return UUID(created["id"])


def act(system: System, rid: UUID, library: str, action: str, **params: Any) -> None:
    system.requests.take_action(TESTER, rid, library=library, action=action, params=params, now=NOW)


def shown(system: System, rid: UUID, last_event: str = "", **expected: Any) -> dict[str, Any]:
    """Wait until the read model shows the request with `expected` (and `last_event` last
    in its timeline); return its row."""
    row: dict[str, Any] = {}

    def check() -> bool:
        with system.db.transaction() as conn:
            row.update(detail(conn, rid) or {})
        last = events(row)[-1] if row.get("timeline") else ""
        return all(row.get(k) == v for k, v in expected.items()) and last_event in ("", last)

    eventually(check, what=f"request {rid} to show {expected}")
    return row


def events(row: dict[str, Any]) -> list[str]:
    return [e["event"] for e in row["timeline"]]


def test_a_loan_never_confirmed_received_goes_overdue_and_renews_back_to_loaned(
    network: System,
) -> None:
    rid = requested(network)
    act(network, rid, SUPPLIER, "Loaned", item_id="HNM-TVT-W-KIEU-1")
    due = shown(network, rid, status="Loaned")["due_date"]
    later = NOW + (due - NOW.date()) + timedelta(days=1)
    assert network.timers().run_once(later)["overdue"] == 1
    row = shown(network, rid, status="Overdue", awaiting_receipt=True)
    assert events(row)[-2:] == ["MarkedOverdue", "ReminderSent"]
    act(network, rid, REQUESTER, "Renew")
    act(network, rid, SUPPLIER, "RenewResponse", answer="Y")
    shown(network, rid, status="Loaned", due_date=due + timedelta(days=14))
    act(network, rid, REQUESTER, "Received")
    shown(network, rid, status="Received", awaiting_receipt=False)


def test_a_late_receipt_of_an_overdue_loan_is_recorded_and_it_stays_overdue(
    network: System,
) -> None:
    rid = requested(network)
    act(network, rid, SUPPLIER, "Loaned", item_id="HNM-TVT-W-KIEU-1")
    due = shown(network, rid, status="Loaned")["due_date"]
    network.timers().run_once(NOW + (due - NOW.date()) + timedelta(days=1))
    shown(network, rid, status="Overdue", awaiting_receipt=True)
    act(network, rid, REQUESTER, "Received")
    row = shown(network, rid, "Received", awaiting_receipt=False)
    assert row["status"] == "Overdue"


def test_a_lagging_read_model_never_causes_a_second_reminder_on_one_day(
    network: System,
) -> None:
    rid = requested(network)
    act(network, rid, SUPPLIER, "Loaned", item_id="HNM-TVT-W-KIEU-1")
    act(network, rid, REQUESTER, "Received")
    due = shown(network, rid, status="Received")["due_date"]
    first_day = NOW + (due - NOW.date()) + timedelta(days=1)
    network.timers().run_once(first_day)
    shown(network, rid, "ReminderSent", status="Overdue")
    network.stop_event.set()  # the projector stops: the read model lags from here on
    for thread in network.threads:
        thread.join()
    next_day = first_day + timedelta(days=1)
    assert network.timers().run_once(next_day)["reminded"] == 1
    assert network.timers().run_once(next_day)["reminded"] == 0  # the aggregate refuses
    reminders = [e for e in network.app.events.get(rid) if type(e).__name__ == "ReminderSent"]
    assert [e.sent_on for e in reminders] == [first_day.date(), next_day.date()]  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("set_up", "waits_on", "ended"),
    [
        (lambda s, r: act(s, r, SUPPLIER, "ExpectToSupply"), SUPPLIER, {"supplier": "HNM-DT"}),
        (
            lambda s, r: act(s, r, SUPPLIER, "RetryPossible", condition="LibraryUseOnly"),
            REQUESTER,
            {"supplier": "HNM-DT"},
        ),
        (
            lambda s, r: (act(s, r, SUPPLIER, "WillSupply"), act(s, r, REQUESTER, "Cancel")),
            SUPPLIER,
            {"status": "Cancelled"},
        ),
    ],
    ids=["ExpectToSupply", "RetryPossible", "CancelPending"],
)
def test_a_wait_on_one_party_reminds_it_then_ends(
    network: System,
    set_up: Callable[[System, UUID], object],
    waits_on: str,
    ended: dict[str, str],
) -> None:
    rid = requested(network)
    set_up(network, rid)
    waiting = network.requests.get_request(rid).status.value
    row = shown(network, rid, status=waiting, answer_due=NOW + timedelta(hours=48))
    reminded_at = NOW + timedelta(hours=49)
    assert network.timers().run_once(reminded_at)["expired"] == 1
    row = shown(network, rid, answer_due=reminded_at + timedelta(hours=48))
    assert row["status"] == waiting
    reminder = row["timeline"][-1]
    assert reminder["event"] == "AnswerReminderSent"
    assert reminder["data"]["library"] == waits_on
    assert network.timers().run_once(reminded_at + timedelta(hours=47))["expired"] == 0
    assert network.timers().run_once(reminded_at + timedelta(hours=48))["expired"] == 1
    shown(network, rid, **ended)
