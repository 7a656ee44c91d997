"""The retention of reading history, with the timers as the only actor: a request ended
more than the policy's days ago forgets its reader (the read model and its timeline no
longer name the card); one ended later, or still open, keeps it."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from uuid import UUID

from composition.bootstrap import System
from domain.access import ONLINE_REGISTRATION, Principal
from domain.account import Role
from services.commands import CardStep, RegisterReader
from tests.actors import TESTER
from tests.integration.test_projection_runner import drain


def test_the_timers_forget_the_reader_of_a_request_ended_long_ago(system: System) -> None:
    system.catalogue.register_library(TESTER, "HNM-KB", "Thư viện Kim Bảng", "district", "Ba Sao")
    system.catalogue.register_work(TESTER, code="W-HIEM", title="Sách hiếm", kind="book")
    runner = system.make_runner()
    drain(system, runner)
    card = system.entry.act(
        ONLINE_REGISTRATION, RegisterReader("HNM-KB", "Vũ Thị Lan", date(1975, 2, 2), "lan@vd.vn")
    )
    desk = Principal("thu.thu.kb", frozenset({Role.LIBRARIAN}), library="HNM-KB")
    system.entry.act(
        desk, CardStep(card["reader_ref"], "activate", {"method": "vneid", "fee_paid": 50_000})
    )
    now = datetime.now(UTC)
    ended = system.requests.request_item(
        TESTER, requester="HNM-KB", work="W-HIEM", reader_ref=card["reader_ref"], now=now
    )
    assert ended["status"] == "Unfilled"  # nobody holds it: ended at once
    drain(system, runner)
    timers = system.timers()
    assert timers.run_once(now + timedelta(days=364))["readers_forgotten"] == 0
    assert timers.run_once(now + timedelta(days=366))["readers_forgotten"] == 1
    drain(system, runner)
    assert system.requests.get_request(UUID(ended["id"])).reader_ref == ""
    with system.db.transaction() as conn:
        (ref,) = conn.execute(
            "SELECT reader_ref FROM ill_requests WHERE id = %s", (ended["id"],)
        ).fetchone() or ("?",)
        named = conn.execute(
            "SELECT count(*) FROM ill_request_timeline WHERE request_id = %s "
            "AND data ? 'reader_ref'",
            (ended["id"],),
        ).fetchone()
    assert ref == "" and named == (0,)
    assert timers.run_once(now + timedelta(days=400))["readers_forgotten"] == 0  # once
