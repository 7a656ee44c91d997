"""Two librarians acting on one request at the same moment: one wins, the other is told
the request changed (409 with its current state), and nothing is half-written."""

from __future__ import annotations

import threading
from typing import Any
from uuid import UUID

from composition.bootstrap import System
from composition.demo_network import load_demo
from domain.errors import Conflict
from infra.clock import utc_now
from projections.sources import LogSource
from tests.actors import TESTER


def test_simultaneous_answers_one_wins_the_others_get_the_current_state(system: System) -> None:
    load_demo(system)
    runner = system.make_runner()
    source = LogSource(system.db, system.reader)
    source.start(runner)
    runner.apply_batch(source.poll(0.1))  # the catalogue and libraries, for routing
    created = system.requests.request_item(
        {"account": "test", "role": "librarian", "library": "HNM-KB"},
        requester="HNM-KB",
        work="W-CHIPHEO",
        reader_ref="BD-1",
        service_type="Loan",
        now=utc_now(),
    )
    supplier, version = created["supplier"], created["version"]
    start = threading.Barrier(6)
    outcomes: list[Any] = []

    def answer(action: str) -> None:
        start.wait()
        try:
            outcomes.append(
                system.requests.take_action(
                    TESTER,
                    UUID(created["id"]),
                    library=supplier,
                    action=action,
                    params={},
                    expected_version=version,
                    now=utc_now(),
                )
            )
        except Conflict as exc:
            outcomes.append(exc)

    threads = [
        threading.Thread(target=answer, args=("WillSupply" if i % 2 else "ExpectToSupply",))
        for i in range(6)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    won = [o for o in outcomes if isinstance(o, dict)]
    lost = [o for o in outcomes if isinstance(o, Conflict)]
    assert len(won) == 1 and len(lost) == 5
    after = system.requests.get_request(UUID(created["id"]))
    assert after.version == version + 1 and after.status.value == won[0]["status"]
    # Everyone who lost is told the state the winner left.
    assert all(c.current and c.current["version"] == version + 1 for c in lost)
