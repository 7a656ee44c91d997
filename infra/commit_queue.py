"""Group commit: concurrent saves share one transaction (ADR 0030).

A save hands its rows to the queue and waits. If fewer than `writers` batches are being
written, the caller leads at once: it takes every save waiting (its own first) and
writes them with `write`, one statement and one commit, then tells each caller its own
outcome. Saves that arrive meanwhile queue; when a leader finishes, it wakes the first
of them, which leads the next batch with everything queued by then. A lone writer
therefore writes alone, with no hand-off; sixteen share commits.

`write(items)` returns one outcome per item, in order: its notification ids, or the
exception that item alone must raise (a conflict). An exception raised by `write` itself
(the server went away) is every item's outcome: each caller raises it and may retry."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

Item = TypeVar("Item")
Outcome = Sequence[int] | BaseException
Write = Callable[[Sequence[Item]], Sequence[Outcome]]

MAX_BATCH = 128  # saves in one transaction at most


class _Waiter(Generic[Item]):
    __slots__ = ("done", "item", "lead", "outcome")

    def __init__(self, item: Item) -> None:
        self.item = item
        self.done = threading.Event()
        self.lead = False  # woken to lead the next batch, not with an outcome
        self.outcome: Outcome | None = None


class CommitQueue(Generic[Item]):
    def __init__(self, write: Write[Item], writers: int = 1, max_batch: int = MAX_BATCH) -> None:
        self._write = write
        self._free = writers  # batches that may start now
        self._max_batch = max_batch
        self._lock = threading.Lock()
        self._queue: deque[_Waiter[Item]] = deque()
        self.batches = 0  # transactions written
        self.saves = 0  # saves in them

    @property
    def waiting(self) -> int:
        """Saves queued behind the batches being written."""
        return len(self._queue)

    def submit(self, item: Item) -> Sequence[int]:
        """Write `item` in some batch; its notification ids, or its own exception."""
        me = _Waiter(item)
        with self._lock:
            if self._free:
                self._free -= 1
                me.lead = True
            else:
                self._queue.append(me)
        if not me.lead:
            me.done.wait()
        if me.lead:
            self._lead(me)
        outcome = me.outcome
        if isinstance(outcome, BaseException):
            raise outcome
        assert outcome is not None
        return outcome

    def _lead(self, me: _Waiter[Item]) -> None:
        batch = [me]
        with self._lock:
            while self._queue and len(batch) < self._max_batch:
                batch.append(self._queue.popleft())
        try:
            outcomes: Sequence[Outcome] = self._write([w.item for w in batch])
        except BaseException as exc:  # every caller raises it (and may retry)
            outcomes = [exc] * len(batch)
        self.batches += 1
        self.saves += len(batch)
        with self._lock:
            if self._queue:
                nxt: _Waiter[Item] | None = self._queue.popleft()
            else:
                nxt = None
                self._free += 1
        if nxt is not None:  # the slot passes on: it leads with what has queued
            nxt.lead = True
            nxt.done.set()
        for waiter, outcome in zip(batch, outcomes, strict=True):
            waiter.outcome = outcome
            waiter.lead = False
            if waiter is not me:
                waiter.done.set()
