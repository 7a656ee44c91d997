"""Aggregates kept in memory for reading and checked against the event store on every
use (ADR 0010). A read costs one indexed query for events newer than the cached version
(almost always none) instead of fetching and replaying the whole history; when there are
newer events the aggregate is loaded again. Nothing is ever served stale: a revoked key
or a disabled account is seen by the next read after its event commits.

The objects handed out are shared between threads: callers read them, never change them
(commands load their own copy through the repository)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any
from uuid import UUID

from eventsourcing.application import Application


class FreshAggregates:
    def __init__(self, app: Application[UUID], maxsize: int = 1024) -> None:
        self.app = app
        self.maxsize = maxsize
        self._items: OrderedDict[UUID, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, aggregate_id: UUID) -> Any:
        """The aggregate at its current version (AggregateNotFoundError if none)."""
        with self._lock:
            cached = self._items.get(aggregate_id)
        if cached is not None:
            newer = self.app.repository.event_store.get(aggregate_id, gt=cached.version, limit=1)
            if next(iter(newer), None) is None:
                return cached
        current: Any = self.app.repository.get(aggregate_id)
        with self._lock:
            held = self._items.get(aggregate_id)
            if held is None or held.version <= current.version:
                self._items[aggregate_id] = current
                self._items.move_to_end(aggregate_id)
            while len(self._items) > self.maxsize:
                self._items.popitem(last=False)
        return current
