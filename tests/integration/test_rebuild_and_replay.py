"""Rebuilding a read model from zero, and replaying parked events."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from infra.envelope import Envelope
from projections.dead_letters import parked
from projections.libraries import LibrariesProjection
from projections.projection import Statement
from tests.integration.support import libraries, register_many
from tests.integration.test_projection_runner import drain
from workers.bootstrap import System


def all_rows(system: System) -> list[tuple[Any, ...]]:
    with system.db.transaction() as conn:
        return conn.execute("SELECT * FROM libraries ORDER BY code").fetchall()


def test_a_rebuild_gives_tables_identical_row_for_row_to_the_live_ones(system: System) -> None:
    codes = register_many(system, 40)
    for code in codes[::7]:
        system.app.rename_library(code, f"Tên mới {code}", "kiểm thử")
    runner = system.make_runner()
    drain(system, runner)
    live = all_rows(system)
    progress: list[tuple[int, int]] = []

    report = system.rebuild("libraries", lambda done, total: progress.append((done, total)))

    assert report.events == 46 and report.applied == 46
    assert all_rows(system) == live
    assert progress[-1] == (46, 46)
    # The live projector goes on after the swap, without applying anything twice.
    system.app.register_library("HNM-NEW", "Thư viện mới", "school", "Phủ Lý")
    assert drain(system, runner) == 1
    assert len(libraries(system)) == 41


def test_a_rebuild_repairs_a_read_model_that_lost_rows(system: System) -> None:
    register_many(system, 10)
    drain(system, system.make_runner())
    with system.db.transaction() as conn:
        conn.execute("DELETE FROM libraries WHERE code IN ('T-0003', 'T-0004')")
    system.rebuild("libraries")
    assert len(libraries(system)) == 10


class BuggyLibraries(LibrariesProjection):
    """The libraries projection as deployed with a bug; the system's own one is the fix."""

    def statements(self, event: Envelope) -> Iterable[Statement]:
        if event.data.get("code") == "T-0001":
            raise RuntimeError("bug in the projection")
        return super().statements(event)


def test_a_parked_event_is_applied_once_the_projection_is_fixed(system: System) -> None:
    register_many(system, 3)
    drain(system, system.make_runner([BuggyLibraries()]))
    assert [r["code"] for r in libraries(system)] == ["T-0000", "T-0002"]
    assert len(parked(system.db, "libraries")) == 1

    assert system.replay_parked("libraries") == {"replayed": 1, "failed": 0}
    assert [r["code"] for r in libraries(system)] == ["T-0000", "T-0001", "T-0002"]
    assert parked(system.db, "libraries") == []
    (done,) = parked(system.db, "libraries", include_replayed=True)
    assert done["replayed_at"] is not None
