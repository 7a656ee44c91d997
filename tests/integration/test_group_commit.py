"""Group commit on the real PostgreSQL (ADR 0030): saves that arrive together share one
transaction, and each still meets its own concurrency check. A save that conflicts fails
alone with its own error; the others in its batch are stored whole; nothing is lost and
each aggregate's events stay in order."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import psycopg

from composition.bootstrap import System
from domain.errors import AlreadyExists
from domain.lending_policy import LendingPolicy
from infra.commit_queue import CommitQueue
from services.idempotency import Idempotency
from tests.actors import TESTER
from tests.integration.support import eventually


def queue(system: System) -> CommitQueue[Any]:
    q: CommitQueue[Any] = system.app.recorder.commit_queue  # type: ignore[attr-defined]
    return q


@contextmanager
def writers_blocked(system: System, database_url: str) -> Iterator[None]:
    """Holds off every save, as a long transaction elsewhere would: a SHARE lock on the
    commands table, which each save's statement inserts into. Saves queue meanwhile."""
    with psycopg.connect(database_url) as conn:
        conn.execute("LOCK TABLE libshare_commands IN SHARE MODE")
        yield
        conn.commit()


def in_threads(*calls: Callable[[], Any]) -> list[Any]:
    """Run each call in its own thread; what each returned or raised, in order."""
    outcomes: list[Any] = [None] * len(calls)

    def run(i: int) -> None:
        try:
            outcomes[i] = calls[i]()
        except Exception as exc:
            outcomes[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return outcomes


def register(system: System, code: str, name: str = "Thư viện") -> Callable[[], Any]:
    return lambda: system.catalogue.register_library(TESTER, code, name, "school", "Phủ Lý")


def stored(system: System) -> list[tuple[Any, ...]]:
    with system.db.transaction() as conn:
        return conn.execute(
            "SELECT originator_id, originator_version, xid::text FROM libshare_events "
            "ORDER BY notification_id"
        ).fetchall()


def test_a_conflicting_save_in_a_batch_fails_alone_and_the_rest_commit_together(
    system: System, database_url: str
) -> None:
    system.catalogue.register_library(TESTER, "HNM-PL", "Thư viện Phủ Lý", "district", "Phủ Lý")
    before = len(stored(system))
    q = queue(system)
    fresh = [f"HNM-G{i}" for i in range(10)]
    calls = [register(system, code) for code in fresh]
    calls.append(register(system, "HNM-PL", "Một thư viện khác"))  # taken, with other data
    calls.append(register(system, "HNM-RACE", "Thư viện A"))  # two saves of one new
    calls.append(register(system, "HNM-RACE", "Thư viện B"))  # library, other data each
    batches = q.batches
    with writers_blocked(system, database_url):
        results: list[Any] = []
        runner = threading.Thread(target=lambda: results.extend(in_threads(*calls)))
        runner.start()
        # Two leaders wait on the lock; every other save queues behind them.
        eventually(lambda: q.waiting == len(calls) - 2, what="the saves to queue")
    runner.join(timeout=60)
    # The queued saves went in one or two statements' batches, not one commit each.
    assert q.batches - batches <= 3
    by_code = dict(zip([*fresh, "HNM-PL", "HNM-RACE", "HNM-RACE-2"], results, strict=True))
    for code in fresh:
        library, created = by_code[code]
        assert created and library.code == code
    assert isinstance(by_code["HNM-PL"], AlreadyExists)
    race = [by_code["HNM-RACE"], by_code["HNM-RACE-2"]]
    assert sum(isinstance(r, AlreadyExists) for r in race) == 1
    (winner,) = [r for r in race if not isinstance(r, Exception)]
    assert winner[1] is True
    assert system.catalogue.get_library("HNM-RACE").name == winner[0].name
    rows = stored(system)
    assert len(rows) == before + len(fresh) + 1  # each winner's one event, nothing else
    assert {system.catalogue.get_library(c).code for c in fresh} == set(fresh)
    # Saves that queued together share a transaction.
    assert len({xid for _, _, xid in rows[before:]}) < len(rows) - before


def test_a_retried_command_in_the_same_batch_gets_the_first_result(
    system: System, database_url: str
) -> None:
    from domain.library import Library

    idem = Idempotency(system.app)
    q = queue(system)

    def command(code: str) -> Callable[[], Any]:
        def plan() -> Any:
            return [Library.register(code, "Thư viện", "school", "X")], {"code": code}

        return lambda: idem.run(TESTER, "test:k-1", "fp-1", plan)

    with writers_blocked(system, database_url):
        results: list[Any] = []
        runner = threading.Thread(
            target=lambda: results.extend(
                in_threads(
                    register(system, "HNM-A"),
                    register(system, "HNM-B"),
                    command("HNM-K1"),
                    command("HNM-K2"),
                )
            )
        )
        runner.start()
        eventually(lambda: q.waiting == 2, what="the two retries to queue")
    runner.join(timeout=60)
    first, retry = results[2], results[3]
    assert {first.get("replayed"), retry.get("replayed")} == {None, True}
    assert first["code"] == retry["code"]  # the retry answers with the first's result
    kept = first["code"]
    other = "HNM-K2" if kept == "HNM-K1" else "HNM-K1"
    assert system.catalogue.exists(kept) and not system.catalogue.exists(other)


def test_sixteen_writers_lose_nothing_and_keep_each_aggregates_order(system: System) -> None:
    codes = [f"HNM-W{i:02d}" for i in range(16)]
    for code in codes:
        system.catalogue.register_library(TESTER, code, "Thư viện", "school", "Phủ Lý")
    q = queue(system)
    batches, saves = q.batches, q.saves

    def change_policy(code: str) -> Callable[[], Any]:
        def run() -> int:
            for days in range(31, 61):
                policy = LendingPolicy(loan_days=days)
                system.catalogue.set_policy(TESTER, code, policy)
            return 30

        return run

    results = in_threads(*(change_policy(code) for code in codes))
    assert results == [30] * 16
    assert q.saves - saves == 16 * 30
    assert q.batches - batches < q.saves - saves  # some commits were shared
    rows = stored(system)
    for code in codes:
        library = system.catalogue.get_library(code)
        versions = [v for oid, v, _ in rows if oid == library.id]
        assert versions == list(range(1, 32))  # in the log's order, none lost
        assert library.policy.loan_days == 60
