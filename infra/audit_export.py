"""Exports for auditors (ADR 0026): the whole log, or one timeline, as JSON Lines or CSV;
and a signed bundle — the events as stored up to the latest checkpoint, every checkpoint
with its cosignatures, and the public keys — that tools/verify_libshare.py checks
anywhere, without the database."""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
from collections.abc import Iterable, Iterator
from typing import Any

import psycopg

from infra.audit_proofs import with_cosignatures, witnesses
from infra.audit_store import StoredRow, all_rows

LOG_COLUMNS = (
    "leaf_index",
    "leaf_hash",
    "notification_id",
    "aggregate_id",
    "version",
    "topic",
    "account",
    "role",
    "library",
    "correlation_id",
    "causation_id",
    "trace_id",
    "state_sha256",
)


def _entry(index: int, row: StoredRow) -> dict[str, Any]:
    meta = json.loads(row.metadata) if row.metadata else {}
    actor = meta.get("actor") or {}
    return {
        "leaf_index": index,
        "leaf_hash": row.leaf.hex(),
        "notification_id": row.notification_id,
        "aggregate_id": row.originator_id,
        "version": row.version,
        "topic": row.topic,
        "account": actor.get("account"),
        "role": actor.get("role"),
        "library": actor.get("library"),
        "correlation_id": meta.get("correlation_id"),
        "causation_id": meta.get("causation_id"),
        "trace_id": meta.get("trace_id"),
        "state_sha256": hashlib.sha256(row.state).hexdigest(),
    }


def logged_rows(conn: psycopg.Connection[Any]) -> Iterator[tuple[int, StoredRow]]:
    """The logged events (leaf index, row), in the log's order."""
    row = conn.execute("SELECT size FROM audit_log_state ORDER BY log LIMIT 1").fetchone()
    size = int(row[0]) if row else 0
    for index, raw in enumerate(all_rows(conn)):
        if index >= size:
            return
        yield index, StoredRow(*raw)


def log_entries(conn: psycopg.Connection[Any]) -> Iterator[dict[str, Any]]:
    for index, row in logged_rows(conn):
        yield _entry(index, row)


def as_jsonl(entries: Iterable[dict[str, Any]]) -> Iterator[str]:
    for entry in entries:
        yield json.dumps(entry, ensure_ascii=False, default=str) + "\n"


def as_csv(entries: Iterable[dict[str, Any]], columns: tuple[str, ...]) -> Iterator[str]:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(columns), extrasaction="ignore")
    writer.writeheader()
    for entry in entries:
        writer.writerow(
            {
                k: json.dumps(v, ensure_ascii=False, default=str) if isinstance(v, dict) else v
                for k, v in entry.items()
            }
        )
        yield out.getvalue()
        out.seek(0)
        out.truncate()
    yield out.getvalue()


TIMELINE_COLUMNS = (
    "version",
    "event",
    "at",
    "account",
    "role",
    "library",
    "event_id",
    "correlation_id",
    "causation_id",
    "trace_id",
    "data",
)


def timeline_entries(timeline: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """A read model's timeline, one flat entry per event: who, when, why, what."""
    for item in timeline:
        actor, cause = item.get("actor") or {}, item.get("cause") or {}
        yield {
            "version": item["version"],
            "event": item["event"],
            "at": item["at"].isoformat() if hasattr(item["at"], "isoformat") else item["at"],
            "account": actor.get("account"),
            "role": actor.get("role"),
            "library": actor.get("library"),
            "event_id": cause.get("event_id"),
            "correlation_id": cause.get("correlation_id"),
            "causation_id": cause.get("causation_id"),
            "trace_id": cause.get("trace_id"),
            "data": item["data"],
        }


def bundle(conn: psycopg.Connection[Any], log_key: str) -> dict[str, Any]:
    """Everything needed to check the log elsewhere, up to its latest checkpoint."""
    rows = conn.execute("SELECT size, note FROM audit_checkpoints ORDER BY size").fetchall()
    size = int(rows[-1][0]) if rows else 0
    events = []
    for index, row in logged_rows(conn):
        if index >= size:
            break
        events.append(
            {
                "aggregate_id": row.originator_id,
                "version": row.version,
                "topic": row.topic,
                "state": base64.b64encode(row.state).decode(),
                "metadata": row.metadata,
                "leaf_hash": base64.b64encode(row.leaf).decode(),
            }
        )
    return {
        "format": "libshare-audit-bundle/v1",
        "log_key": log_key,
        "witnesses": witnesses(conn),
        "tree_size": size,
        "checkpoints": [with_cosignatures(conn, int(s), note) for s, note in rows],
        "events": events,
    }
