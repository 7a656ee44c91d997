"""Round trips over real HTTP between two libshare instances (tests/e2e/iso_instances.py)
for the rest of "every action": an item passed on from one of A's libraries to another
(ShippedForward, its note naming the request it went on to), the return held and
released (HoldReturn / ReleaseHoldReturn, 2021), and the peer supplier's Overdue, which
marks our loan overdue once."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from datetime import time as dtime

import httpx

from domain.access import DEMO_LOADER
from domain.errors import NotFound
from services.commands import ConfigureIsoPeer, RegisterLibrary
from services.iso_inbound import peer_request_id
from tests.e2e.callers import api_key_for
from tests.e2e.iso_instances import (
    WORK,
    Side,
    borrow,
    both,
    every_message_confirmed,
    on_loan,
    recorded,
    second_database,
    sides,
)
from tests.e2e.iso_world import ADMIN, SECRET
from tests.integration.support import eventually

__all__ = ["second_database", "sides"]  # fixtures, used by name


def test_our_library_passes_the_peers_item_on_to_another_of_ours(
    sides: tuple[Side, Side],
) -> None:
    a, b = sides
    a.system.entry.act(DEMO_LOADER, RegisterLibrary("LIB-A2", "Thư viện A2", "district", "Hà Nam"))
    b.system.entry.act(DEMO_LOADER, RegisterLibrary("LIB-A2", "Outside A2", "district", "X"))
    b.system.entry.act(
        ADMIN,
        ConfigureIsoPeer(
            "LIB-A2", "Outside A2", "ISIL", "LIB-A2", f"{a.url}/iso18626", secret=SECRET
        ),
    )
    a2 = Side(a.system, a.url, api_key_for(a.system, "lib-a2", "librarian", library="LIB-A2"))
    ours, theirs = borrow(a, b)
    r = httpx.post(
        f"{a.url}/requests",
        json={"work": WORK, "reader_ref": "BD-0043"},
        headers={"Authorization": f"Bearer {a2.key}"},
        timeout=10,
    )
    assert r.status_code == 201, r.text
    ours2 = uuid.UUID(r.json()["id"])
    theirs2 = peer_request_id("LIB-A2", str(ours2))
    assert r.json()["supplier"] == "LIB-B"

    def arrived() -> bool:
        try:
            return b.request(theirs2).status.value == "RequestReceived"
        except NotFound:
            return False

    eventually(arrived, what="A2's request to reach B")
    item = f"LIB-B-{WORK}-1"
    b.act(theirs, "Loaned", item_id=item)
    both(a, ours, b, theirs, "Loaned", "Loaned")
    a.act(ours, "Received")
    both(a, ours, b, theirs, "Received", "Received")
    a.act(ours, "ShippedForward", to_request=str(ours2))
    both(a, ours, b, theirs, "ShippedForward", "ShippedForward")
    both(a2, ours2, b, theirs2, "Loaned", "Loaned")
    assert b.request(theirs2).item_id == item == a.request(ours2).item_id
    loan = b.system.copies.get(item).loan
    assert loan is not None and loan["request"] == str(theirs2)  # B's copy moved on too
    (sent,) = [m for m in a.messages(ours) if "ShippedForward" in m["message"]]
    assert f"forwarded to ISIL:LIB-A2 request {ours2}" in sent["message"]
    every_message_confirmed(a, ours)
    every_message_confirmed(b, theirs2)  # B's Loaned for the forwarded item: A agrees, OK


def test_the_return_is_held_and_released_both_ways(sides: tuple[Side, Side]) -> None:
    a, b = sides
    ours, theirs = on_loan(a, b)
    b.act(theirs, "HoldReturn", note="closed for stocktaking")
    eventually(lambda: a.request(ours).return_held == "supplier", what="A to hold the return")
    r = httpx.post(
        f"{a.url}/requests/{ours}/actions",
        json={"action": "ShippedReturn"},
        headers={"Authorization": f"Bearer {a.key}"},
        timeout=10,
    )
    assert r.status_code == 409 and "holds the return" in r.text, r.text
    b.act(theirs, "ReleaseHoldReturn")
    eventually(lambda: a.request(ours).return_held == "", what="A to hear the release")
    a.act(ours, "HoldReturn", note="our reader keeps it a week")
    eventually(lambda: b.request(theirs).return_held == "requester", what="B to hear it")
    a.act(ours, "ShippedReturn")
    both(a, ours, b, theirs, "ShippedReturn", "ShippedReturn")
    assert b.request(theirs).return_held == ""
    every_message_confirmed(a, ours)
    every_message_confirmed(b, theirs)


def test_the_peers_overdue_marks_our_loan_overdue_once(sides: tuple[Side, Side]) -> None:
    a, b = sides
    ours, theirs = on_loan(a, b, f"LIB-B-{WORK}-2")
    due = b.request(theirs).due_date
    assert due is not None
    b.system.timers().run_once(datetime.combine(due + timedelta(days=1), dtime(9), UTC))
    both(a, ours, b, theirs, "Overdue", "Overdue")  # A's from B's message, not A's timers
    assert recorded(a, ours) == 1
    # A's own timers, later, mark nothing more
    a.system.timers().run_once(datetime.combine(due + timedelta(days=40), dtime(9), UTC))
    assert recorded(a, ours) == 1
    every_message_confirmed(b, theirs)
