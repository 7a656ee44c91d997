"""The independent replay (issue 15, item 6; ADR 0027): every read model rebuilt from the
Kafka topics alone into a schema of its own, then compared row for row with the live
read models. Nothing of the live projector is used: not its positions, not its
bookkeeping, not the event store. Events are taken from every partition, copies of one
(aggregate, version) dropped, and applied in the log's order (xid, notification id),
each projection given only the types it handles, exactly once."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import psycopg

from infra.database import Database
from infra.envelope import Envelope, from_kafka
from projections.projection import Projection

SCHEMA = "audit_replay"
SAMPLES = 5  # rows shown per table that differs


@dataclass
class TableDiff:
    table: str
    live: int
    replayed: int
    only_live: list[Any]  # up to SAMPLES rows (as JSON) found only in the live table
    only_replayed: list[Any]
    only_live_count: int = 0  # rows in the live table that the replay does not have
    only_replayed_count: int = 0  # and the other way round


@dataclass
class ReplayReport:
    events: int = 0
    tables: list[TableDiff] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def differences(self) -> list[TableDiff]:
        return [t for t in self.tables if t.only_live_count or t.only_replayed_count]

    @property
    def matches(self) -> bool:
        return not self.differences


def in_log_order(records: list[tuple[list[tuple[str, bytes]], bytes]]) -> list[Envelope]:
    """The events of these records, each once, in the log's order."""
    found: dict[tuple[Any, int], Envelope] = {}
    for headers, value in records:
        env = from_kafka(headers, value)
        found.setdefault((env.aggregate_id, env.version), env)
    return sorted(found.values(), key=lambda e: (e.xid, e.notification_id))


def replay(
    db: Database,
    events: list[Envelope],
    make: Callable[[str, str], Projection],
    names: list[str],
    batch: int = 5000,
) -> ReplayReport:
    """Replay `events` into every projection `names` (made by `make(name, schema)`)."""
    started = time.perf_counter()
    report = ReplayReport(events=len(events))
    fresh = [make(n, SCHEMA) for n in names]
    with db.transaction() as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{SCHEMA}" CASCADE')
        for p in fresh:
            p.create_tables(conn)
    for start in range(0, len(events), batch):
        chunk = events[start : start + batch]
        with db.transaction(durable=False) as conn:
            for p in fresh:
                p.apply_many(conn, [e for e in chunk if e.type in p.handles])
    with db.transaction() as conn:
        for p in fresh:
            for table in p.tables:
                report.tables.append(_diff(conn, table))
    report.seconds = time.perf_counter() - started
    return report


def _diff(conn: psycopg.Connection[Any], table: str) -> TableDiff:
    columns = [
        r[0]
        for r in conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = %s "
            "AND table_name = %s ORDER BY ordinal_position",
            (SCHEMA, table),
        ).fetchall()
    ]
    cols = ", ".join(f'"{c}"' for c in columns)

    def rows(schema: str) -> str:
        return f'SELECT to_jsonb(x) AS r FROM (SELECT {cols} FROM "{schema}"."{table}") AS x'

    live_only = f"{rows('public')} EXCEPT ALL {rows(SCHEMA)}"
    replay_only = f"{rows(SCHEMA)} EXCEPT ALL {rows('public')}"
    count = conn.execute(
        f'SELECT (SELECT count(*) FROM public."{table}"), '
        f'(SELECT count(*) FROM "{SCHEMA}"."{table}"), '
        f"(SELECT count(*) FROM ({live_only}) a), (SELECT count(*) FROM ({replay_only}) b)"
    ).fetchone()
    assert count is not None
    live, replayed, only_live_count, only_replayed_count = (int(c) for c in count)
    sample = f" ORDER BY 1 LIMIT {SAMPLES}"
    only_live = [r[0] for r in conn.execute(f"SELECT r FROM ({live_only}) a{sample}")]
    only_replayed = [r[0] for r in conn.execute(f"SELECT r FROM ({replay_only}) b{sample}")]
    return TableDiff(
        table, live, replayed, only_live, only_replayed, only_live_count, only_replayed_count
    )
