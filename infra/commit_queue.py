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
LEAD_ROUNDS = 4  # batches one leader writes in a row while saves queue


class _Waiter(Generic[Item]):
    __slots__ = ("done", "item", "lead", "outcome")

    def __init__(self, item: Item) -> None:
        self.item = item
        self.done = threading.Event()
        self.lead = False  # woken to lead the next batch, not with an outcome
        self.outcome: Outcome | None = None


class CommitQueue(Generic[Item]):
    def __init__(
        self,
        write: Write[Item],
        writers: int = 1,
        max_batch: int = MAX_BATCH,
        lead_rounds: int = LEAD_ROUNDS,
    ) -> None:
        self._write = write
        self._lead_rounds = lead_rounds
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
        """Write batches while saves queue, up to `lead_rounds` in a row, then pass the
        slot on or free it. Writing the next batch at once, rather than waking another
        thread to, keeps a thread hand-off off the path from commit to commit."""
        batch = [me]
        for round_ in range(1, self._lead_rounds + 1):
            with self._lock:
                while self._queue and len(batch) < self._max_batch:
                    batch.append(self._queue.popleft())
            try:
                outcomes: Sequence[Outcome] = self._write([w.item for w in batch])
            except BaseException as exc:  # every caller raises it (and may retry)
                outcomes = [exc] * len(batch)
            self.batches += 1
            self.saves += len(batch)
            nxt: _Waiter[Item] | None = None
            with self._lock:
                again = bool(self._queue) and round_ < self._lead_rounds
                if not again:
                    if self._queue:
                        nxt = self._queue.popleft()
                    else:
                        self._free += 1
            if nxt is not None:  # the slot passes on: it leads with what has queued
                nxt.lead = True
                nxt.done.set()
            for waiter, outcome in zip(batch, outcomes, strict=True):
                waiter.outcome = outcome
                waiter.lead = False
                if waiter is not me:
                    waiter.done.set()
            if not again:
                return
            batch = []
