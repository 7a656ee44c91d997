"""What a projection declares: its name, the event types it handles, the tables it owns
(with their DDL), and the SQL statements one event turns into. Projections are functions
from events to statements; the runner executes them, batching runs of the same statement."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, ClassVar

import psycopg

from infra.envelope import Envelope
from projections.statement_batches import StatementBatches

Statement = tuple[str, Sequence[Any] | Mapping[str, Any]]  # positional or named parameters

# A plain one-row INSERT ... VALUES (%s, ...), optionally ON CONFLICT DO NOTHING: a run of
# these is the same as one INSERT of all their rows, which the runner sends as one
# INSERT ... SELECT FROM unnest(one array per column).
_ONE_ROW_INSERT = re.compile(
    r'^INSERT INTO ("[^"]+"\."[^"]+")\s*(?:\(([^)]*)\)\s*)?'
    r"VALUES\s*\((?:%s,\s*)*%s\)(\s+ON CONFLICT DO NOTHING)?$"
)
# table -> (name, type, kind: 'array', 'json', 'jsonb' or the scalar type's name)
_COLUMNS: dict[str, list[tuple[str, str, str]]] = {}


class Projection:
    name: ClassVar[str]
    handles: ClassVar[frozenset[str]]  # CloudEvents types, e.g. libshare.library.Registered.v1
    tables: ClassVar[tuple[str, ...]]
    ddl: ClassVar[str]  # CREATE TABLE IF NOT EXISTS statements; {schema} is the target schema

    def __init__(self, schema: str = "public") -> None:
        self.schema = schema

    def create_tables(self, conn: psycopg.Connection[Any]) -> None:
        conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{self.schema}"')
        conn.execute(self.ddl.format(schema=f'"{self.schema}"'))

    def table(self, name: str) -> str:
        """A qualified, quoted table name for SQL in statements() and queries."""
        assert name in self.tables, name
        return f'"{self.schema}"."{name}"'

    def statements(self, event: Envelope) -> Iterable[Statement]:
        """The SQL that applies `event` to this projection's tables."""
        raise NotImplementedError

    def bulk_inserts(self) -> Mapping[str, Sequence[str]]:
        """For a set-based rebuild (ADR 0030): event type -> the INSERT ... SELECT ...
        FROM src statements that give every event of that type in `src` the rows
        `statements` gives it. `src` has one row per event: aggregate_id uuid, version
        bigint, time timestamptz and data jsonb (the stored state: values that are not
        plain JSON are wrapped as {"_type_": ..., "_data_": ...}).

        A rebuild inserts these before it replays the other events in order, so only
        events that create their aggregate's rows qualify, whose rows no later event's
        statements could meet differently had they been inserted first, and which need
        nothing earlier events wrote. Only version-1 types (no upcasting)."""
        return {}

    def apply(self, conn: psycopg.Connection[Any], event: Envelope) -> None:
        for sql, params in self.statements(event):
            conn.execute(sql, params)

    def apply_many(
        self, conn: psycopg.Connection[Any], events: Iterable[Envelope], *, copy: bool = False
    ) -> None:
        """Apply events in order, in few round trips (projections/statement_batches.py):
        one-row INSERTs held per table and sent as multi-row INSERTs (with `copy`, plain
        ones by COPY: a rebuild), runs of anything else as one executemany."""
        with conn.cursor() as cur:
            batches = StatementBatches(cur, execute_run, copy=copy)
            for event in events:
                for sql, params in self.statements(event):
                    batches.add(sql, params)
            batches.flush()


def execute_run(
    cur: psycopg.Cursor[Any], sql: str, rows: list[Sequence[Any] | Mapping[str, Any]]
) -> None:
    """Execute `sql` once per row of parameters, in order, in as few statements as is safe."""
    multi = _as_unnest(cur.connection, sql, rows) if len(rows) > 1 else None
    if multi is None:
        cur.executemany(sql, rows)
    else:
        cur.execute(multi, [list(column) for column in zip(*rows, strict=True)])


def _as_unnest(
    conn: psycopg.Connection[Any],
    sql: str,
    rows: Sequence[Sequence[Any] | Mapping[str, Any]] = (),
) -> str | None:
    """The multi-row form of a one-row INSERT, or None where there is none: other
    statements, and columns whose values do not unnest as scalars (arrays; JSON unless
    every row gives it as text or NULL, which the server parses as it would one by one)."""
    one_row = _ONE_ROW_INSERT.match(sql)
    if one_row is None:
        return None
    table, listed, tail = one_row.group(1), one_row.group(2), one_row.group(3) or ""
    columns = _COLUMNS.get(table)
    if columns is None:
        columns = _COLUMNS[table] = [
            (name, type_, "array" if category == "A" else base)
            for name, type_, category, base in conn.execute(
                "SELECT a.attname, format_type(a.atttypid, a.atttypmod), t.typcategory, "
                "t.typname FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid "
                "WHERE a.attrelid = %s::regclass AND a.attnum > 0 AND NOT a.attisdropped "
                "ORDER BY a.attnum",
                (table,),
            ).fetchall()
        ]
    by_name = {name: (type_, kind) for name, type_, kind in columns}
    names = [c.strip().strip('"') for c in listed.split(",")] if listed else list(by_name)
    if sql.count("%s") != len(names) or not all(n in by_name for n in names):
        return None
    arrays = []
    for i, n in enumerate(names):
        type_, kind = by_name[n]
        if kind == "array":
            return None
        if kind in ("json", "jsonb"):
            if not rows or not all(_text_or_null(row, i) for row in rows):
                return None
            arrays.append(f"%b::text[]::{type_}[]")  # text, parsed by the server
        else:
            arrays.append(f"%b::{type_}[]")
    quoted = ", ".join(f'"{n}"' for n in names)
    return f"INSERT INTO {table} ({quoted}) SELECT * FROM unnest({', '.join(arrays)}){tail}"


def _text_or_null(row: Sequence[Any] | Mapping[str, Any], i: int) -> bool:
    if isinstance(row, Mapping):
        return False
    value = row[i]
    return value is None or type(value) is str
