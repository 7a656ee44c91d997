"""Events that failed to apply, parked with their error by the runner (`park`, inside the
batch's transaction): listed, and replayed once the projection is fixed (through the API
or `libshare projections replay`)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from uuid import UUID

import psycopg
import structlog

from infra.database import Database
from infra.envelope import Envelope
from projections.projection import Projection

log = structlog.get_logger("libshare.projections")

DEAD_LETTERS_DDL = """
CREATE TABLE IF NOT EXISTS projection_dead_letters (
    id bigserial PRIMARY KEY,
    projection text NOT NULL,
    event_id text NOT NULL,
    event_type text NOT NULL,
    aggregate_id uuid NOT NULL,
    version bigint NOT NULL,
    notification_id bigint NOT NULL,
    xid bigint NOT NULL,
    event_time timestamptz NOT NULL,
    payload bytea NOT NULL,
    error text NOT NULL,
    parked_at timestamptz NOT NULL DEFAULT now(),
    replayed_at timestamptz
);
"""

_COLUMNS = (
    "id, projection, event_id, event_type, aggregate_id, version, notification_id, xid, "
    "event_time, error, parked_at, replayed_at, payload"
)


def _row(cols: list[str], values: tuple[Any, ...]) -> dict[str, Any]:
    row = dict(zip(cols, values, strict=True))
    row["payload"] = json.loads(bytes(row["payload"]))
    return row


def parked(
    db: Database, projection: str | None = None, *, include_replayed: bool = False
) -> list[dict[str, Any]]:
    with db.transaction() as conn, conn.cursor() as cur:
        cur.execute(
            f"SELECT {_COLUMNS} FROM projection_dead_letters "
            "WHERE (%s::text IS NULL OR projection = %s) AND (%s OR replayed_at IS NULL) "
            "ORDER BY id",
            (projection, projection, include_replayed),
        )
        cols = [c.name for c in cur.description or []]
        return [_row(cols, r) for r in cur.fetchall()]


def park(conn: psycopg.Connection[Any], projection: str, ev: Envelope, exc: Exception) -> None:
    """Keep the event that `projection` failed to apply, with its error, in the caller's
    transaction: the batch goes on without it."""
    log.error(
        "event parked",
        projection=projection,
        event_id=ev.id,
        event_type=ev.type,
        aggregate_id=str(ev.aggregate_id),
        version=ev.version,
        error=repr(exc),
    )
    conn.execute(
        "INSERT INTO projection_dead_letters (projection, event_id, event_type, "
        "aggregate_id, version, notification_id, xid, event_time, payload, error) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
        (
            projection,
            ev.id,
            ev.type,
            ev.aggregate_id,
            ev.version,
            ev.notification_id,
            ev.xid,
            ev.time,
            ev.payload,
            f"{type(exc).__name__}: {exc}",
        ),
    )


def _envelope(row: dict[str, Any]) -> Envelope:
    aggregate_type = str(row["event_type"]).split(".")[1]
    time: datetime = row["event_time"]
    aggregate_id: UUID = row["aggregate_id"]
    return Envelope(
        type=row["event_type"],
        aggregate_type=aggregate_type,
        aggregate_id=aggregate_id,
        version=row["version"],
        time=time,
        notification_id=row["notification_id"],
        xid=row["xid"],
        encoded=json.dumps(row["payload"], ensure_ascii=False, sort_keys=True).encode(),
    )


def replay_parked(db: Database, projection: Projection) -> dict[str, int]:
    """Apply every parked event of `projection` again, in the order they were parked.
    A success marks it replayed; a failure keeps it parked with the new error."""
    result = {"replayed": 0, "failed": 0}
    for row in parked(db, projection.name):
        try:
            with db.transaction() as conn:
                projection.apply(conn, _envelope(row))
                conn.execute(
                    "UPDATE projection_dead_letters SET replayed_at = now() WHERE id = %s",
                    (row["id"],),
                )
            result["replayed"] += 1
        except Exception as exc:
            with db.transaction() as conn:
                conn.execute(
                    "UPDATE projection_dead_letters SET error = %s WHERE id = %s",
                    (f"{type(exc).__name__}: {exc}", row["id"]),
                )
            log.warning("parked event failed again", id=row["id"], error=repr(exc))
            result["failed"] += 1
    return result
