"""The parallel-rebuild figure of `BENCH_ONLY=write` (issue 18, aim 4: "projections rebuilt
in parallel"; ADR 0030): `libraries` and `catalogue` rebuilt at once
(`composition.rebuilds.rebuild_in_parallel`, two at a time, as `libshare projections
rebuild` runs them) against the two one after the other and the raw log read, taking
turns. Its store holds `events` work registrations beside the library registrations the
libraries figure rebuilt, so each projection has events of its own to make rows of."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

from bench.baselines import raw_log_read
from bench.figures import figure
from composition.bootstrap import System
from composition.rebuilds import rebuild_in_parallel
from domain.catalogue import Work

NAMES = ("libraries", "catalogue")


def fill_works(system: System, n: int) -> None:
    """Save 100 new works per call, `n` in all."""
    for start in range(0, n, 100):
        works = [Work.register(f"W-F-{start + i}", "Sách", "book") for i in range(100)]
        system.app.save(*works)


def applied_per_second(rebuild: Callable[[], int]) -> float:
    started = time.perf_counter()
    applied = rebuild()
    return applied / (time.perf_counter() - started)


def one_after_the_other(system: System) -> int:
    return sum(system.rebuild(name).applied for name in NAMES)


def at_once(system: System) -> int:
    applied = 0
    for name, outcome in rebuild_in_parallel(system, NAMES, jobs=len(NAMES)):
        if isinstance(outcome, BaseException):
            raise RuntimeError(f"rebuild of {name} failed") from outcome
        applied += outcome.applied
    return applied


def parallel_rebuild_figures(
    system: System, url: str, events: int, rounds: int
) -> list[dict[str, Any]]:
    """Events applied per second of wall time, the two rebuilds at once and one after the
    other, each beside the raw read of the whole log in the same rounds."""
    fill_works(system, events)
    raws: list[float] = []
    serial: list[float] = []
    parallel: list[float] = []
    for _ in range(rounds):
        raws.append(raw_log_read(url)[1])
        serial.append(applied_per_second(lambda: one_after_the_other(system)))
        parallel.append(applied_per_second(lambda: at_once(system)))
    return [
        figure(
            "rebuild of libraries + catalogue at once, events applied/s",
            statistics.median(parallel),
            statistics.median(raws),
            None,
            None,
            "events/s",
            parallel,
            raws,
        ),
        figure(
            "  the same two rebuilt one after the other, events applied/s",
            statistics.median(serial),
            statistics.median(raws),
            None,
            None,
            "events/s",
            serial,
            raws,
        ),
    ]
