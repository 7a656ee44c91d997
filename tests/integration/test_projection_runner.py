"""The projection runner on the notification log: exactly once, resumable, poison-proof."""

from __future__ import annotations

import time
from collections.abc import Iterable

from composition.bootstrap import System
from infra.envelope import Envelope
from projections.dead_letters import parked
from projections.libraries import LibrariesProjection
from projections.projection import Statement
from projections.runner import ProjectionRunner
from tests.actors import ACT_2025, TESTER
from tests.integration.support import eventually, libraries, register_many
from workers.supervisor import Supervised


def drain(system: System, runner: ProjectionRunner, timeout: float = 20.0) -> int:
    """Apply everything stored so far. An empty poll alone does not prove it: the gap-aware
    reader waits while any transaction in the cluster (another test's, say) might still
    commit below it, so drain until each projection has seen every stored event."""
    source = system.make_log_source()
    source.start(runner)
    total = 0
    deadline = time.monotonic() + timeout
    try:
        while True:
            batch = source.poll(timeout=0.2)
            if batch:
                total += runner.apply_batch(batch)
            elif caught_up(system, runner) or time.monotonic() > deadline:
                return total
    finally:
        source.close()


def caught_up(system: System, runner: ProjectionRunner) -> bool:
    with system.db.transaction() as conn:
        (stored,) = conn.execute("SELECT count(*) FROM libshare_events").fetchone() or (0,)
        seen = dict(conn.execute("SELECT projection, seen FROM projection_state").fetchall())
    return all(seen.get(p.name, 0) >= stored for p in runner.projections)


def test_the_read_model_shows_every_registered_library(system: System) -> None:
    codes = register_many(system, 25)
    system.reorganisation.rename(TESTER, codes[3], "Tên mới", "kiểm thử", ACT_2025)
    runner = system.make_runner()
    assert drain(system, runner) == 26
    rows = libraries(system)
    assert [r["code"] for r in rows] == codes
    assert rows[3]["name"] == "Tên mới"


def test_delivering_a_batch_twice_changes_nothing(system: System) -> None:
    register_many(system, 10)
    runner = system.make_runner()
    source = system.make_log_source()
    source.start(runner)
    batch = source.poll(timeout=0.5)
    source.close()
    assert runner.apply_batch(batch) == 10
    before = libraries(system)
    assert runner.apply_batch(batch) == 0
    # Even with the stored positions forgotten, (aggregate, version) drops the copies.
    with system.db.transaction() as conn:
        conn.execute("DELETE FROM projection_positions")
    assert runner.apply_batch(batch) == 0
    assert libraries(system) == before


def test_a_projection_restarted_mid_stream_resumes_from_its_stored_position(
    system: System,
) -> None:
    register_many(system, 30, prefix="A")
    first = system.make_runner()
    source = system.make_log_source()
    source.batch_size = 12
    source.start(first)
    assert first.apply_batch(source.poll(timeout=0.5)) == 12  # then the process "dies"
    source.close()
    register_many(system, 5, prefix="B")

    second = system.make_runner()  # a new process: positions come from PostgreSQL
    assert drain(system, second) == 23
    assert len(libraries(system)) == 35
    with system.db.transaction() as conn:
        seen = conn.execute("SELECT seen FROM projection_state WHERE projection='libraries'")
        assert seen.fetchone() == (35,)


class PoisonedLibraries(LibrariesProjection):
    """Refuses one library, as a bug in a projection would."""

    def statements(self, event: Envelope) -> Iterable[Statement]:
        if event.data.get("code") == "T-0002":
            raise ValueError("cannot project T-0002")
        return super().statements(event)


def test_a_poison_event_is_parked_and_the_projection_goes_on(system: System) -> None:
    register_many(system, 5)
    runner = system.make_runner([PoisonedLibraries()])
    assert drain(system, runner) == 4  # the fifth is parked, not applied
    assert [r["code"] for r in libraries(system)] == ["T-0000", "T-0001", "T-0003", "T-0004"]
    (dead,) = parked(system.db, "libraries")
    assert dead["event_type"] == "libshare.library.Registered.v1"
    assert dead["payload"]["code"] == "T-0002"
    assert "cannot project T-0002" in dead["error"]


def test_the_embedded_projector_thread_follows_new_events(system: System) -> None:
    system.start_projector()
    register_many(system, 3)
    eventually(lambda: len(libraries(system)) == 3, what="3 libraries in the read model")
    system.catalogue.register_library(TESTER, "HNM-X", "Thư viện X", "school", "Kim Bảng")
    eventually(lambda: len(libraries(system)) == 4, what="the 4th library")
    assert isinstance(system.threads[0], Supervised) and system.threads[0].is_alive()
