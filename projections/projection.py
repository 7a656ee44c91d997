"""What a projection declares: its name, the event types it handles, the tables it owns
(with their DDL), and the SQL statements one event turns into. Projections are functions
from events to statements; the runner executes them, batching runs of the same statement."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, ClassVar

import psycopg

from infra.envelope import Envelope

Statement = tuple[str, Sequence[Any]]


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

    def apply(self, conn: psycopg.Connection[Any], event: Envelope) -> None:
        for sql, params in self.statements(event):
            conn.execute(sql, params)

    def apply_many(self, conn: psycopg.Connection[Any], events: Iterable[Envelope]) -> None:
        """Apply events in order; consecutive uses of one statement go as one executemany."""
        run_sql: str | None = None
        run: list[Sequence[Any]] = []
        with conn.cursor() as cur:
            for event in events:
                for sql, params in self.statements(event):
                    if sql != run_sql and run:
                        cur.executemany(run_sql or "", run)
                        run = []
                    run_sql = sql
                    run.append(params)
            if run:
                cur.executemany(run_sql or "", run)
