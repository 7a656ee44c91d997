"""Round trips over real HTTP between two libshare instances (tests/e2e/iso_instances.py)
for what the peer's own system decides: the due date its Loaned and RenewResponse carry
is ours too (our copy of its lending policy differs on purpose), and an item lost on
either side ends the loan on both, with the message each side sends for it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from composition.bootstrap import System
from domain.access import DEMO_LOADER
from domain.lending_policy import LendingPolicy
from services.commands import ConfigureIsoPeer, SetPolicy
from tests.e2e.iso_instances import (
    WORK,
    Side,
    borrow,
    both,
    every_message_confirmed,
    on_loan,
    second_database,
    sides,
    two_instances,
)
from tests.e2e.iso_world import ADMIN
from tests.integration.support import eventually

__all__ = ["second_database", "sides"]  # fixtures, used by name

# LIB-B's own policy, on B; A's catalogue keeps the default (28 days, one renewal of 14)
B_POLICY = LendingPolicy(loan_days=10, renewals_allowed=3, renewal_days=5)


@pytest.fixture
def own_terms(
    make_system: Callable[..., System], second_database: str
) -> Iterator[tuple[Side, Side]]:
    with two_instances(make_system, second_database) as (a, b):
        b.system.entry.act(DEMO_LOADER, SetPolicy("LIB-B", B_POLICY))
        eventually(lambda: _up(b), what="B to start")
        yield a, b


def _up(side: Side) -> bool:
    import httpx

    try:
        return httpx.get(f"{side.url}/health", timeout=1).status_code < 500
    except httpx.HTTPError:
        return False


def test_the_peers_due_dates_on_loan_and_renewals_are_ours(
    own_terms: tuple[Side, Side],
) -> None:
    a, b = own_terms
    ours, theirs = borrow(a, b)
    b.act(theirs, "Loaned", item_id=f"LIB-B-{WORK}-1")
    both(a, ours, b, theirs, "Loaned", "Loaned")
    due = b.request(theirs).due_date
    assert due is not None and due == datetime.now(UTC).date() + timedelta(days=B_POLICY.loan_days)
    assert a.request(ours).due_date == due  # not A's 28 days of LIB-B's policy
    a.act(ours, "Received")
    both(a, ours, b, theirs, "Received", "Received")
    for renewal in (1, 2):  # A's copy of the policy allows one; B's allows three
        a.act(ours, "Renew")
        eventually(lambda: b.request(theirs).renew_pending, what=f"B to see Renew {renewal}")
        b.act(theirs, "RenewResponse", answer="Y")
        new_due = due + timedelta(days=B_POLICY.renewal_days * renewal)
        assert b.request(theirs).due_date == new_due

        def taken(expected: date = new_due) -> bool:
            req = a.request(ours)
            return req.due_date == expected and not req.renew_pending

        eventually(taken, what=f"A to take B's due date of renewal {renewal}")
    every_message_confirmed(a, ours)
    every_message_confirmed(b, theirs)


def test_our_reader_loses_the_peers_item(sides: tuple[Side, Side]) -> None:
    a, b = sides
    ours, theirs = on_loan(a, b)
    a.act(ours, "Lost")
    both(a, ours, b, theirs, "CompletedWithoutReturn", "CompletedWithoutReturn")
    assert b.system.copies.get(f"LIB-B-{WORK}-1").status.value == "missing"

    def lost_sent() -> list[dict[str, Any]]:
        return [m for m in a.messages(ours) if m["direction"] == "out" and ">Lost<" in m["message"]]

    eventually(lambda: bool(lost_sent()), what="A to record B's confirmation of the Lost")
    every_message_confirmed(a, ours)
    (lost,) = lost_sent()
    assert "<action>Lost</action>" in lost["message"].replace("ill:", "") and lost["status"] == "OK"


def test_the_peer_loses_our_item_and_says_why(sides: tuple[Side, Side]) -> None:
    a, b = sides
    ours, theirs = borrow(a, b)
    b.act(theirs, "Loaned", item_id=f"LIB-B-{WORK}-2")
    both(a, ours, b, theirs, "Loaned", "Loaned")
    b.act(theirs, "CompletedWithoutReturn", reason="Lost in the flood")
    both(a, ours, b, theirs, "CompletedWithoutReturn", "CompletedWithoutReturn")
    assert b.system.copies.get(f"LIB-B-{WORK}-2").status.value == "missing"
    every_message_confirmed(b, theirs)
    # A's record of it carries B's reason
    (message,) = [m for m in a.messages(ours) if "CompletedWithoutReturn" in m["message"]]
    assert "Lost in the flood" in message["message"] and message["status"] == "OK"


def test_over_the_2017_schema_a_loss_is_told_as_a_note(sides: tuple[Side, Side]) -> None:
    a, b = sides
    a.system.entry.act(
        ADMIN,
        ConfigureIsoPeer(
            "LIB-B", "Outside LIB-B", "ISIL", "LIB-B", f"{b.url}/iso18626", schema="2017"
        ),
    )
    ours, theirs = borrow(a, b)
    b.act(theirs, "Loaned", item_id=f"LIB-B-{WORK}-1")
    both(a, ours, b, theirs, "Loaned", "Loaned")
    a.act(ours, "Lost")
    eventually(
        lambda: any("Lost" in n.get("note", "") for n in b.request(theirs).notes),
        what="B to hear of the loss as a note",
    )
    assert a.request(ours).status.value == "CompletedWithoutReturn"
    assert b.request(theirs).status.value == "Loaned"  # B's librarian ends its loan
    b.act(theirs, "CompletedWithoutReturn", reason="Lost")
    every_message_confirmed(a, ours)
