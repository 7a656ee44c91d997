"""A worker thread of `libshare serve` that dies is started again; one that is told to
stop is not."""

from __future__ import annotations

import threading
import time

from workers import supervisor
from workers.supervisor import Supervised


def test_a_worker_that_dies_is_started_again_until_told_to_stop() -> None:
    stop = threading.Event()
    runs: list[float] = []

    def worker(stop: threading.Event) -> None:
        runs.append(time.monotonic())
        if len(runs) < 3:
            raise RuntimeError("a bug the worker's own retries did not catch")
        stop.wait()

    s = Supervised("test-worker", worker, stop)
    s.start()
    deadline = time.monotonic() + 3 * supervisor.RESTART_FIRST * 4 + 5
    while len(runs) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(runs) == 3 and s.restarts == 2 and s.is_alive()
    assert runs[2] - runs[1] >= runs[1] - runs[0]  # the back-off grows between quick deaths
    stop.set()
    s.join(5)
    assert not s.is_alive() and len(runs) == 3


def test_a_worker_that_returns_on_its_own_is_started_again() -> None:
    stop = threading.Event()
    runs = 0

    def worker(stop: threading.Event) -> None:
        nonlocal runs
        runs += 1
        if runs >= 2:
            stop.wait()

    s = Supervised("returns", worker, stop).start()
    deadline = time.monotonic() + 5
    while runs < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    stop.set()
    s.join(5)
    assert runs == 2 and s.restarts == 1
