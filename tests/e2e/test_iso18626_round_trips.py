"""Round trips between two libshare instances over real HTTP, each the other's outside
ISO 18626 peer (ADR 0028): instance A's library LIB-A borrows from instance B's LIB-B.
Each runs its API under uvicorn on a port of its own, with a database of its own, its
projector and its ISO 18626 outbox; the librarians act through each one's API. Both
sides end in the same state, and every message either side sent validated against the
schema and was confirmed OK."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from datetime import time as dtime

import httpx
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from composition.bootstrap import System
from domain.errors import NotFound
from services.commands import ConfigureIsoPeer
from services.iso_inbound import peer_request_id
from tests.e2e.callers import api_key_for
from tests.e2e.iso_instances import (  # (the fixtures too)
    WORK,
    Side,
    borrow,
    both,
    bound_socket,
    every_message_confirmed,
    on_loan,
    second_database,
    sides,
    speak_2017,
    two_instances,
)
from tests.e2e.iso_world import ADMIN, build_network, need_interop
from tests.integration.support import eventually

__all__ = ["second_database", "sides"]  # fixtures, used by name


def test_a_loan_goes_and_comes_back(sides: tuple[Side, Side]) -> None:
    a, b = sides
    ours, theirs = borrow(a, b)
    b.act(theirs, "WillSupply")
    both(a, ours, b, theirs, "WillSupply", "WillSupply")
    b.act(theirs, "Loaned", item_id=f"LIB-B-{WORK}-1")
    both(a, ours, b, theirs, "Loaned", "Loaned")
    assert a.request(ours).due_date == b.request(theirs).due_date
    a.act(ours, "Received")
    both(a, ours, b, theirs, "Received", "Received")
    a.act(ours, "ShippedReturn")
    both(a, ours, b, theirs, "ShippedReturn", "ShippedReturn")
    b.act(theirs, "LoanCompleted")
    both(a, ours, b, theirs, "LoanCompleted", "LoanCompleted")
    every_message_confirmed(a, ours)
    every_message_confirmed(b, theirs)
    kinds = [m["kind"] for m in a.messages(ours)]
    assert kinds[0] == "request" and "supplyingAgencyMessage" in kinds
    # the request's timeline links its messages
    eventually(
        lambda: (
            httpx.get(f"{a.url}/requests/{ours}", headers={"Authorization": f"Bearer {a.key}"})
            .json()
            .get("iso18626_messages")
            == f"/requests/{ours}/iso18626"
        ),
        what="the link from the timeline",
    )


def test_an_outbox_that_starts_over_sends_nothing_twice(sides: tuple[Side, Side]) -> None:
    a, b = sides
    ours, theirs = borrow(a, b)
    b.act(theirs, "ExpectToSupply")
    both(a, ours, b, theirs, "ExpectToSupply", "ExpectToSupply")
    sent_a, sent_b = len(a.messages(ours)), len(b.messages(theirs))
    version_b = b.request(theirs).version
    for side in (a, b):  # as if the position were lost: the log is read again from the start
        with side.system.db.transaction() as conn:
            conn.execute("UPDATE iso_outbox_positions SET xid = 0, notification_id = 0")
    outbox = a.system.make_iso_outbox()
    while outbox.run_once():
        pass
    outbox_b = b.system.make_iso_outbox()
    while outbox_b.run_once():
        pass
    assert (len(a.messages(ours)), len(b.messages(theirs))) == (sent_a, sent_b)
    assert b.request(theirs).version == version_b


def test_unfilled_ends_the_request_on_both_sides_with_the_reason(
    sides: tuple[Side, Side],
) -> None:
    a, b = sides
    ours, theirs = borrow(a, b)
    b.act(theirs, "Unfilled", reason="NotOnShelf")
    both(a, ours, b, theirs, "Unfilled", "Unfilled")
    assert {"library": "LIB-B", "reason": "NotOnShelf"} in a.request(ours).outcomes
    every_message_confirmed(b, theirs)


def test_cancel_accepted_and_refused(sides: tuple[Side, Side]) -> None:
    a, b = sides
    ours, theirs = borrow(a, b)
    a.act(ours, "Cancel", reason="the reader left")
    both(a, ours, b, theirs, "CancelPending", "CancelPending")
    b.act(theirs, "CancelResponse", answer="N", reason="already packed")
    both(a, ours, b, theirs, "RequestReceived", "RequestReceived")
    a.act(ours, "Cancel")
    both(a, ours, b, theirs, "CancelPending", "CancelPending")
    b.act(theirs, "CancelResponse", answer="Y")
    both(a, ours, b, theirs, "Cancelled", "Cancelled")
    every_message_confirmed(a, ours)
    every_message_confirmed(b, theirs)


def test_renew_accepted_and_refused_then_recall(sides: tuple[Side, Side]) -> None:
    a, b = sides
    ours, theirs = on_loan(a, b)
    due = a.request(ours).due_date
    a.act(ours, "Renew")
    eventually(lambda: b.request(theirs).renew_pending, what="B to see the Renew")
    b.act(theirs, "RenewResponse", answer="Y")
    eventually(lambda: a.request(ours).due_date != due, what="A's new due date")
    assert a.request(ours).due_date == b.request(theirs).due_date
    a.act(ours, "Renew")
    eventually(lambda: b.request(theirs).renew_pending, what="B to see the second Renew")
    b.act(theirs, "RenewResponse", answer="N")
    eventually(lambda: not a.request(ours).renew_pending, what="A to hear the refusal")
    b.act(theirs, "Recalled")
    both(a, ours, b, theirs, "Recalled", "Recalled")
    every_message_confirmed(a, ours)
    every_message_confirmed(b, theirs)


def test_conditions_accepted_and_declined(sides: tuple[Side, Side]) -> None:
    a, b = sides
    ours, theirs = borrow(a, b)
    b.act(theirs, "RetryPossible", condition="LibraryUseOnly", note="đọc tại chỗ")
    both(a, ours, b, theirs, "RetryPossible", "RetryPossible")
    assert (a.request(ours).conditions or {})["kind"] == "LibraryUseOnly"
    a.act(ours, "AcceptConditions")
    both(a, ours, b, theirs, "WillSupply", "WillSupply")
    every_message_confirmed(a, ours)

    ours2, theirs2 = borrow(a, b)
    b.act(theirs2, "RetryPossible", condition="NoReproduction")
    both(a, ours2, b, theirs2, "RetryPossible", "RetryPossible")
    a.act(ours2, "DeclineConditions")
    both(a, ours2, b, theirs2, "Unfilled", "Cancelled")
    every_message_confirmed(a, ours2)


def test_a_copy_is_delivered(sides: tuple[Side, Side]) -> None:
    a, b = sides
    ours, theirs = borrow(a, b, "Copy")
    b.act(theirs, "CopyCompleted", note="https://example.org/scan.pdf")
    both(a, ours, b, theirs, "CopyCompleted", "CopyCompleted")
    every_message_confirmed(b, theirs)


def test_a_loan_over_the_2017_schema_and_the_overdue_notice(sides: tuple[Side, Side]) -> None:
    a, b = sides
    speak_2017(a, b)
    ours, theirs = on_loan(a, b, f"LIB-B-{WORK}-2")
    # B's timers find the loan overdue: A hears of it (and its own timers decide for A)
    due = b.request(theirs).due_date
    assert due is not None
    b.system.timers().run_once(datetime.combine(due + timedelta(days=1), dtime(9), UTC))
    eventually(
        lambda: any("Overdue" in m["message"] for m in a.messages(ours)),
        what="A to hear the Overdue",
    )
    sent = [m for m in a.messages(ours) + b.messages(theirs) if m["direction"] == "out"]
    assert sent and all('ill:version="1.2"' in m["message"] for m in sent)
    every_message_confirmed(a, ours)
    every_message_confirmed(b, theirs)


def test_an_unreachable_peer_leaves_the_request_to_move_on_at_its_time_out(
    make_system: Callable[..., System],
) -> None:
    sock = bound_socket()  # bound, never listening: the peer is away
    away = f"http://127.0.0.1:{sock.getsockname()[1]}/iso18626"
    a = make_system(iso18626_xsd_dir=need_interop(), iso18626_send_seconds=1.0)
    build_network(a, "LIB-A", "LIB-B", away, WORK, holder="LIB-B")
    a.start_projector()
    outbox = a.make_iso_outbox()
    eventually(lambda: bool(a.candidate_finder(WORK)), what="the catalogue")
    key = api_key_for(a, "lib-a", "librarian", library="LIB-A")
    with TestClient(create_app(system=a)) as client:
        r = client.post(
            "/requests",
            json={"work": WORK, "reader_ref": "BD-0042"},
            headers={"Authorization": f"Bearer {key}"},
        )
        assert r.status_code == 201, r.text
        ours = uuid.UUID(r.json()["id"])
        while outbox.run_once():
            pass
        (sent,) = Side(a, "", key).messages_via(client, ours)
        assert sent["status"] == "" and "unreachable" in sent["error"]
        assert sent["attempts"] >= 2
        req = a.requests.get_request(ours)
        assert req.status.value == "RequestReceived" and req.answer_due is not None
        a.timers().run_once(req.answer_due + timedelta(minutes=1))
        assert a.requests.get_request(ours).status.value == "Unfilled"
    sock.close()


def test_a_peer_that_comes_up_late_gets_the_request_after_retries(
    make_system: Callable[..., System], second_database: str
) -> None:
    with two_instances(make_system, second_database, b_after=6.0) as (a, b):
        ours, _ = borrow(a, b)  # (it waits until B has the request)
        (sent,) = [m for m in a.messages(ours) if m["direction"] == "out"]
        assert sent["status"] == "OK" and sent["attempts"] >= 2, sent


def test_a_peer_that_refuses_our_secret_leaves_the_refusal_on_record(
    sides: tuple[Side, Side],
) -> None:
    a, b = sides
    a.system.entry.act(
        ADMIN,
        ConfigureIsoPeer(
            "LIB-B",
            "Outside LIB-B",
            "ISIL",
            "LIB-B",
            f"{b.url}/iso18626",
            secret="not-the-secret-b-knows",
        ),
    )
    eventually(lambda: bool(a.system.candidate_finder(WORK)), what="the catalogue of A")
    r = httpx.post(
        f"{a.url}/requests",
        json={"work": WORK, "reader_ref": "BD-0042"},
        headers={"Authorization": f"Bearer {a.key}"},
        timeout=10,
    )
    ours = uuid.UUID(r.json()["id"])

    def refused() -> bool:
        sent = [m for m in a.messages(ours) if m["direction"] == "out"]
        return bool(sent) and sent[0]["error"].startswith("HTTP 401")

    eventually(refused, what="A to record B's refusal")
    with pytest.raises(NotFound):
        b.request(peer_request_id("LIB-A", str(ours)))
