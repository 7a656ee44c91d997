"""The commit queue's hand-offs (infra/commit_queue.py, ADR 0030): each caller is told its
own outcome, a failed write is every caller's error in that batch and frees its slot."""

from __future__ import annotations

import threading
from collections.abc import Sequence

import pytest

from infra.commit_queue import CommitQueue, Outcome


class Refused(Exception):
    pass


def test_each_caller_gets_its_own_outcome_and_waiting_callers_share_a_batch() -> None:
    gate = threading.Event()
    sizes: list[int] = []

    def write(items: Sequence[int]) -> list[Outcome]:
        gate.wait(5)
        sizes.append(len(items))
        return [Refused(f"odd {i}") if i % 2 else [i * 10] for i in items]

    q: CommitQueue[int] = CommitQueue(write, writers=1)
    got: dict[int, object] = {}

    def call(i: int) -> None:
        try:
            got[i] = q.submit(i)
        except Refused as exc:
            got[i] = str(exc)

    threads = [threading.Thread(target=call, args=(i,)) for i in range(9)]
    for t in threads:
        t.start()
    while q.waiting < 8:  # one leads (held at the gate), eight wait
        threading.Event().wait(0.01)
    gate.set()
    for t in threads:
        t.join(5)
    assert got == {i: (f"odd {i}" if i % 2 else [i * 10]) for i in range(9)}
    assert sorted(sizes) == [1, 8]


def test_a_failed_write_is_raised_to_each_caller_and_the_queue_goes_on() -> None:
    fail = [True]

    def write(items: Sequence[str]) -> list[Outcome]:
        if fail[0]:
            raise ConnectionError("server went away")
        return [[1] for _ in items]

    q: CommitQueue[str] = CommitQueue(write, writers=1)
    with pytest.raises(ConnectionError):
        q.submit("a")
    fail[0] = False
    assert q.submit("b") == [1]
