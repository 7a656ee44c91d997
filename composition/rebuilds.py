"""Several projections rebuilt at once (ADR 0030), each by a thread of one system on
connections of its own: a set-based rebuild spends its time waiting for the server
(~2 µs of Python per event), so two of them keep both cores' PostgreSQL backends busy.
Threads, not processes: a spawned process's bootstrap alone took 15-40 s on the loaded
machine, longer than the rebuilds it would run. Each rebuild swaps in on its own."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed

from composition.bootstrap import System, projection_named
from projections.rebuild import RebuildReport


def rebuild_in_parallel(
    system: System, names: Sequence[str], jobs: int
) -> Iterator[tuple[str, RebuildReport | BaseException]]:
    """Each named projection rebuilt, at most `jobs` at a time; yields each projection's
    report, or what it failed with, as each ends. A failure ends only its own rebuild,
    which leaves that projection's live tables as they were."""
    for name in names:
        projection_named(name)  # fail fast on an unknown name
    workers = max(1, min(jobs, len(names)))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="rebuild") as pool:
        futures: dict[Future[RebuildReport], str] = {
            pool.submit(system.rebuild, name): name for name in names
        }
        for future in as_completed(futures):
            error = future.exception()
            yield futures[future], (future.result() if error is None else error)
