"""A projection batch excludes other appliers of its projections, yet holds back no
follower of the log while it is being worked out (ADR 0013)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable

from composition.bootstrap import System
from infra.envelope import Envelope
from infra.log_reader import LogPosition, position_of
from projections.bookkeeping import LOG_STREAM, Delivery, lock_projections
from projections.libraries import LibrariesProjection
from projections.projection import Statement
from projections.runner import ProjectionRunner
from tests.actors import TESTER
from tests.integration.support import libraries


class HeldOpen(LibrariesProjection):
    """The libraries projection in a schema of its own, pausing inside its batch."""

    name = "held-open"

    def __init__(self, entered: threading.Event, release: threading.Event) -> None:
        super().__init__("held_open")
        self.entered, self.release = entered, release

    def statements(self, event: Envelope) -> Iterable[Statement]:
        self.entered.set()
        assert self.release.wait(10)
        yield from super().statements(event)


def test_events_committed_while_a_projection_batch_is_open_are_readable_at_once(
    make_system: Callable[..., System],
) -> None:
    system = make_system(event_store_db_functions=True)
    entered, release = threading.Event(), threading.Event()
    runner = ProjectionRunner(system.db, [HeldOpen(entered, release)])
    runner.setup()
    system.catalogue.register_library(TESTER, "HNM-FIRST", "Thư viện đầu", "school", "Phủ Lý")
    with system.db.transaction() as conn:
        (first,) = system.reader.read(conn, LogPosition())
    worker = threading.Thread(
        target=runner.apply_batch,
        args=([Delivery(first, LOG_STREAM)],),
    )
    worker.start()
    try:
        assert entered.wait(10)  # the batch is open: projections taken, marks read
        system.catalogue.register_library(TESTER, "HNM-NEXT", "Thư viện sau", "school", "Phủ Lý")
        with system.db.transaction() as conn:
            after = system.reader.read(conn, position_of(first))
        assert [e.data["code"] for e in after] == ["HNM-NEXT"]  # not held back by the batch
    finally:
        release.set()
        worker.join(10)


def test_a_second_applier_waits_for_the_first_and_then_applies_nothing_twice(
    make_system: Callable[..., System],
) -> None:
    system = make_system(event_store_db_functions=True)
    system.catalogue.register_library(TESTER, "HNM-ONCE", "Thư viện một lần", "school", "Phủ Lý")
    source = system.make_log_source()
    first, second = system.make_runner(), system.make_runner()
    source.start(first)
    batch = source.poll(1.0)
    source.close()
    applied: list[int] = []
    with system.db.transaction() as holder:
        lock_projections(holder, ["libraries"])
        worker = threading.Thread(target=lambda: applied.append(second.apply_batch(batch)))
        worker.start()
        time.sleep(0.5)
        assert applied == []  # waiting for the holder of "libraries"
    worker.join(10)
    assert applied == [1]  # the one event, to the one projection that handles it
    # Applied once; a runner that comes after finds the marks moved and applies nothing.
    assert first.apply_batch(batch) == 0
    assert [row["code"] for row in libraries(system)] == ["HNM-ONCE"]
