"""Sending a batch's statements in as few round trips as give the same rows (ADR 0030).

Plain one-row INSERTs are held back per table and sent together, each table's rows in
their order, the tables in the order first met: inserts into different tables commute
(no projection declares foreign keys or triggers). Any other statement, or an INSERT
into a held table in another form, first sends everything held, so it sees every row
inserted before it. Runs of one other statement go as one executemany.

With `copy` (a rebuild into a fresh schema), plain INSERTs without ON CONFLICT go by
COPY, which takes every column type; otherwise as one INSERT from unnest where the
columns allow, else as one executemany (projections/projection.py)."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import psycopg

Params = Sequence[Any] | Mapping[str, Any]
Run = Callable[[psycopg.Cursor[Any], str, list[Params]], None]

_INSERT = re.compile(
    r'^INSERT INTO ("[^"]+"\."[^"]+")\s*(?:\(([^)]*)\)\s*)?'
    r"VALUES\s*\((?:%s,\s*)*%s\)(\s+ON CONFLICT DO NOTHING)?$"
)
_TABLE_OF: dict[str, tuple[str, str | None, bool] | None] = {}  # sql -> table, columns, copy


def _insert(sql: str) -> tuple[str, str | None, bool] | None:
    """(table, listed columns, plain) for a one-row INSERT ... VALUES, else None."""
    if sql not in _TABLE_OF:
        m = _INSERT.match(sql)
        _TABLE_OF[sql] = (m.group(1), m.group(2), m.group(3) is None) if m else None
    return _TABLE_OF[sql]


class StatementBatches:
    def __init__(self, cur: psycopg.Cursor[Any], run: Run, *, copy: bool = False) -> None:
        self._cur = cur
        self._run = run  # sends one statement for many rows of parameters
        self._copy = copy
        self._held: dict[str, tuple[str, list[Params]]] = {}  # table -> (sql, rows)
        self._other_sql: str | None = None
        self._other: list[Params] = []

    def add(self, sql: str, params: Params) -> None:
        insert = _insert(sql) if not isinstance(params, Mapping) else None
        if insert is not None:
            self._flush_other()
            table = insert[0]
            held = self._held.get(table)
            if held is not None and held[0] != sql:
                self._flush_held()
                held = None
            if held is None:
                self._held[table] = (sql, [params])
            else:
                held[1].append(params)
            return
        self._flush_held()
        if sql != self._other_sql:
            self._flush_other()
            self._other_sql = sql
        self._other.append(params)

    def flush(self) -> None:
        self._flush_held()
        self._flush_other()

    def _flush_other(self) -> None:
        if self._other:
            self._run(self._cur, self._other_sql or "", self._other)
        self._other, self._other_sql = [], None

    def _flush_held(self) -> None:
        for table, (sql, rows) in self._held.items():
            insert = _insert(sql)
            if self._copy and insert is not None and insert[2] and len(rows) > 1:
                self._copy_rows(table, insert[1], rows)
            else:
                self._run(self._cur, sql, rows)
        self._held = {}

    def _copy_rows(self, table: str, columns: str | None, rows: list[Params]) -> None:
        listed = f" ({columns})" if columns else ""
        with self._cur.copy(f"COPY {table}{listed} FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)  # type: ignore[arg-type]
