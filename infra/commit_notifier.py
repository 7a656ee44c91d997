"""Wakes the log's followers (the relay, the `log` projection source) after events commit,
from outside the writing transactions (ADR 0009).

A NOTIFY inside a writing transaction makes PostgreSQL hold a cluster-wide lock from
pre-commit until after the commit record is flushed, so every writer's fsync queues
behind the others' and group commit is lost. Here writers only mark "something
committed"; one thread per process sends a NOTIFY (a transaction with no xid and nothing
to flush) whenever the mark is set, clearing it first, so a commit that ends after the
clear is covered by the next NOTIFY and no wake-up is lost. Notifications coalesce under
load, and at most one is sent per `min_gap` (NOTIFY_MIN_GAP unless told). If this process
dies between a commit and its NOTIFY, followers still wake on their idle time-out."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import psycopg
import structlog
from psycopg.sql import SQL, Identifier

log = structlog.get_logger("libshare.commit_notifier")

NOTIFY_MIN_GAP = 0.001  # seconds from one NOTIFY to the next, at least (ADR 0009)


class CommitNotifier:
    def __init__(
        self,
        connect: Callable[[], psycopg.Connection[Any]],
        channel: str,
        min_gap: float = NOTIFY_MIN_GAP,
    ) -> None:
        self._connect = connect
        self.min_gap = min_gap  # seconds from one NOTIFY to the next, at least
        self._notify = SQL("NOTIFY {}").format(Identifier(channel))
        self._pending = threading.Event()
        self._closed = False
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self.sent = 0  # NOTIFYs sent

    def committed(self) -> None:
        """Called by a writer after its transaction has committed."""
        if self._thread is None:
            with self._start_lock:
                if self._thread is None and not self._closed:
                    self._thread = threading.Thread(
                        target=self._run, name="commit-notifier", daemon=True
                    )
                    self._thread.start()
        if not self._pending.is_set():  # already due: a set() would only take a lock
            self._pending.set()

    def close(self) -> None:
        self._closed = True
        self._pending.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _run(self) -> None:
        conn: psycopg.Connection[Any] | None = None
        try:
            while True:
                self._pending.wait()
                if self._closed:
                    return
                self._pending.clear()
                try:
                    if conn is None or conn.closed:
                        conn = self._connect()
                    conn.execute(self._notify)
                    self.sent += 1
                except psycopg.Error as exc:
                    log.warning("commit notification failed; retrying", error=repr(exc))
                    if conn is not None:
                        conn.close()
                    conn = None
                    self._pending.set()
                    time.sleep(0.2)
                    continue
                # Commits within the gap share the next NOTIFY: at full speed a writer
                # commits every few hundred µs, and a NOTIFY each cost it ~12% (measured).
                time.sleep(self.min_gap)
        finally:
            if conn is not None:
                conn.close()
