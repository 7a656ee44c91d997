"""Workers' heartbeats: each relay and projector writes a row every few seconds saying
that it is alive, whether it can reach Kafka, and how far it has got. A frozen or dead
worker stops beating, which /health and `libshare projections list` show (ADR 0019)."""

from __future__ import annotations

import json
import os
import socket
import time
from dataclasses import dataclass, field
from typing import Any

import structlog

from infra.database import Database

log = structlog.get_logger("libshare.heartbeats")

HEARTBEAT_DDL = """
CREATE TABLE IF NOT EXISTS worker_heartbeats (
    worker text PRIMARY KEY,          -- kind@host:pid
    kind text NOT NULL,               -- relay, projector
    host text NOT NULL,
    pid integer NOT NULL,
    started_at timestamptz NOT NULL,
    beat_at timestamptz NOT NULL,
    kafka_ok boolean,                 -- NULL: this worker does not use Kafka
    progress bigint NOT NULL DEFAULT 0,  -- events this worker has handled since it started
    detail jsonb NOT NULL DEFAULT '{}'
);
"""

BEAT_INTERVAL = 2.0  # seconds between a worker's beats
STALE_AFTER = 15.0  # seconds without a beat before a worker counts as frozen or gone
FORGET_AFTER = 600.0  # seconds after which a silent worker is no longer reported, then deleted


def ensure_table(db: Database) -> None:
    with db.transaction() as conn:
        conn.execute("SELECT pg_advisory_xact_lock(hashtext('libshare-heartbeat-setup'))")
        conn.execute(HEARTBEAT_DDL)


@dataclass
class Heartbeat:
    """One worker's heartbeat. `beat` is cheap to call often: it writes at most once per
    BEAT_INTERVAL. A failed write (PostgreSQL away) is logged and tried again later."""

    db: Database
    kind: str
    worker: str = ""
    started_at: float = field(default_factory=time.time)
    _last: float = 0.0

    def __post_init__(self) -> None:
        if not self.worker:
            self.worker = f"{self.kind}@{socket.gethostname()}:{os.getpid()}"

    def beat(
        self,
        *,
        progress: int,
        kafka_ok: bool | None = None,
        force: bool = False,
        **detail: Any,
    ) -> None:
        now = time.monotonic()
        if not force and now - self._last < BEAT_INTERVAL:
            return
        first, self._last = self._last == 0.0, now
        try:
            with self.db.transaction(durable=False) as conn:
                if first:  # rows of this host's dead predecessors (SIGKILL, a crash) go
                    conn.execute(
                        "DELETE FROM worker_heartbeats WHERE worker <> %s AND ("
                        "(kind = %s AND host = %s AND beat_at < now() - %s * interval '1 s') "
                        "OR beat_at < now() - %s * interval '1 s')",
                        (self.worker, self.kind, socket.gethostname(), STALE_AFTER, FORGET_AFTER),
                    )
                conn.execute(
                    "INSERT INTO worker_heartbeats (worker, kind, host, pid, started_at, "
                    "beat_at, kafka_ok, progress, detail) "
                    "VALUES (%s, %s, %s, %s, to_timestamp(%s), now(), %s, %s, %s) "
                    "ON CONFLICT (worker) DO UPDATE SET beat_at = now(), "
                    "kafka_ok = EXCLUDED.kafka_ok, progress = EXCLUDED.progress, "
                    "detail = EXCLUDED.detail",
                    (
                        self.worker,
                        self.kind,
                        socket.gethostname(),
                        os.getpid(),
                        self.started_at,
                        kafka_ok,
                        progress,
                        json.dumps(detail, default=str),
                    ),
                )
        except Exception as exc:  # the database may be away: the next beat tries again
            log.warning("heartbeat not written", worker=self.worker, error=repr(exc))

    def stop(self) -> None:
        """A worker that stops cleanly says so: its row goes, and it is not shown as frozen."""
        try:
            with self.db.transaction() as conn:
                conn.execute("DELETE FROM worker_heartbeats WHERE worker = %s", (self.worker,))
        except Exception as exc:
            log.warning("heartbeat not removed", worker=self.worker, error=repr(exc))
