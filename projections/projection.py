"""What a projection declares: its name, the event types it handles, the tables it owns
(with their DDL), and how one event changes them."""

from __future__ import annotations

from typing import Any, ClassVar

import psycopg

from infra.envelope import Envelope


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
        """A qualified, quoted table name for SQL in apply() and queries."""
        assert name in self.tables, name
        return f'"{self.schema}"."{name}"'

    def apply(self, conn: psycopg.Connection[Any], event: Envelope) -> None:
        raise NotImplementedError
