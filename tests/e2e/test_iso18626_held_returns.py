"""A return the supplier holds, over real HTTP between two libshare instances
(tests/e2e/iso_instances.py), and what our timers do with it (ADR 0028, amendment
2026-12-02 (4)): a requester obeying the supplier's HoldReturn is never marked overdue,
on either side, however long the hold lasts; the release gives it the recall's time to
send the item back from the release day, and both sides take that due date. To a 2017
peer, whose schema has no hold, the hold and its release are Notifications (valid 2017):
the peer keeps them as notes and its own timers go on."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from datetime import time as dtime
from typing import Any

from lxml import etree

from domain.ill_request import RETURN_AFTER_RELEASE_DAYS
from infra.iso18626_xml import Schemas
from tests.e2e.iso_instances import (
    WORK,
    Side,
    both,
    every_message_confirmed,
    on_loan,
    recorded,
    second_database,
    sides,
    speak_2017,
)
from tests.e2e.iso_world import need_interop
from tests.integration.support import eventually

__all__ = ["second_database", "sides"]  # fixtures, used by name


def _at(day: Any) -> datetime:
    return datetime.combine(day, dtime(9), UTC)


def test_a_loan_the_supplier_holds_is_not_overdue_until_released(sides: tuple[Side, Side]) -> None:
    a, b = sides
    ours, theirs = on_loan(a, b)
    due = b.request(theirs).due_date
    assert due is not None and a.request(ours).due_date == due
    b.act(theirs, "HoldReturn", note="closed for stocktaking")
    eventually(lambda: a.request(ours).return_held == "supplier", what="A to hold the return")
    for days in (1, 30):  # long past the due date, on both sides' timers
        for side in (a, b):
            side.system.timers().run_once(_at(due + timedelta(days=days)))
    assert (a.request(ours).status.value, b.request(theirs).status.value) == ("Received",) * 2
    assert recorded(a, ours) == recorded(b, theirs) == 0
    # B's librarian releases it 30 days after the due date: 7 more days from then
    released = _at(due + timedelta(days=30))
    b.system.entry.clock = lambda: released
    b.act(theirs, "ReleaseHoldReturn", note="stocktaking done")
    new_due = released.date() + timedelta(days=RETURN_AFTER_RELEASE_DAYS)
    assert b.request(theirs).due_date == new_due
    eventually(
        lambda: (a.request(ours).return_held, a.request(ours).due_date) == ("", new_due),
        what="A to take the release and its due date",
    )
    for side in (a, b):  # not yet due again
        side.system.timers().run_once(_at(new_due))
    assert recorded(a, ours) == recorded(b, theirs) == 0
    b.system.timers().run_once(_at(new_due + timedelta(days=1)))
    a.system.timers().run_once(_at(new_due + timedelta(days=1)))
    both(a, ours, b, theirs, "Overdue", "Overdue")
    assert recorded(a, ours) == recorded(b, theirs) == 1
    every_message_confirmed(b, theirs)


def test_over_2017_the_hold_and_its_release_are_notes_the_peer_keeps(
    sides: tuple[Side, Side],
) -> None:
    a, b = sides
    speak_2017(a, b)  # B (the supplier) speaks 2017 to LIB-A, and A to LIB-B
    ours, theirs = on_loan(a, b, f"LIB-B-{WORK}-2")
    b.act(theirs, "HoldReturn", note="closed for stocktaking")
    eventually(lambda: _noted(a, ours, "HoldReturn closed for stocktaking"), what="A's note")
    assert a.request(ours).return_held == ""  # a 2017 peer knows no hold: only the note
    b.act(theirs, "ReleaseHoldReturn")
    eventually(lambda: _noted(a, ours, "ReleaseHoldReturn"), what="A's note of the release")
    # A's librarian may hold it too: B hears a note, and A ships it back when it likes
    a.act(ours, "HoldReturn", note="our reader keeps it a week")
    eventually(lambda: _noted(b, theirs, "HoldReturn our reader keeps it a week"), what="B")
    assert b.request(theirs).return_held == ""
    a.act(ours, "ShippedReturn")
    both(a, ours, b, theirs, "ShippedReturn", "ShippedReturn")
    every_message_confirmed(a, ours)
    every_message_confirmed(b, theirs)
    schemas = Schemas(need_interop())
    for side, rid in ((b, theirs), (a, ours)):
        sent = [m for m in side.messages(rid) if m["direction"] == "out"]
        held = [m for m in sent if "HoldReturn" in m["message"]]
        assert held, sent
        for m in held:
            doc = etree.ElementTree(etree.fromstring(m["message"].encode()))
            schemas.check(doc, "2017")  # raises naming the violation
            assert "Notification" in m["message"]


def _noted(side: Side, request_id: Any, text: str) -> bool:
    return any(n.get("note", "").startswith(text) for n in side.request(request_id).notes)
