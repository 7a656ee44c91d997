"""A merge recorded for a future day takes effect by itself: on that day the timers move
on what is still open under the merged library (its requests, its copies), once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from composition.bootstrap import System
from composition.demo_network import load_demo
from domain.legal_act import LegalAct
from tests.actors import TESTER
from tests.integration.support import eventually


def test_the_timers_complete_a_merge_on_its_effective_day(system: System) -> None:
    load_demo(system)
    system.start_projector()
    eventually(lambda: len(system.candidate_finder("W-DEMEN")) == 2, what="the catalogue")
    now = datetime.now(UTC)
    tomorrow = now + timedelta(days=1)
    asked = system.requests.request_item(
        TESTER, requester="HNM-S-ATL", work="W-DEMEN", reader_ref="R1", now=now
    )
    assert asked["supplier"] == "HNM-TL"
    act = LegalAct("Quyết định 9/QĐ-UBND", now.date(), tomorrow.date())
    system.reorganisation.merge(TESTER, "HNM-TL", "HNM-PL", "Sắp xếp", act, now.date())
    eventually(lambda: _merge_projected(system), what="the merge in the registry")

    assert system.timers().run_once(now)["merges"] == 0  # not yet its day
    assert system.requests.get_request(asked["id"]).supplier == "HNM-TL"

    assert system.timers().run_once(tomorrow)["merges"] == 1
    assert system.requests.get_request(asked["id"]).supplier == "HNM-PL"
    copy = system.copies.get("HNM-TL-W-DEMEN-1")
    assert (copy.owner, copy.holder) == ("HNM-PL", "HNM-PL")
    eventually(
        lambda: system.timers().run_once(tomorrow)["merges"] == 0,  # once the read models caught up
        what="nothing left open under HNM-TL",
    )


def _merge_projected(system: System) -> bool:
    with system.db.transaction() as conn:
        row = conn.execute("SELECT merged_on FROM libraries WHERE code = 'HNM-TL'").fetchone()
    return row is not None and row[0] is not None
