"""The `libraries` read model: the network's member libraries, and its queries."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import psycopg
from psycopg.rows import dict_row

from infra.envelope import Envelope
from projections.projection import Projection, Statement


class LibrariesProjection(Projection):
    name = "libraries"
    handles = frozenset(
        {
            "libshare.library.Registered.v1",
            "libshare.library.Renamed.v1",
            "libshare.library.PolicySet.v1",
        }
    )
    tables = ("libraries", "lending_policies")
    ddl = """
    CREATE TABLE IF NOT EXISTS {schema}.libraries (
        code text PRIMARY KEY,
        id uuid NOT NULL UNIQUE,
        name text NOT NULL,
        kind text NOT NULL,
        locality text NOT NULL,
        registered_at timestamptz NOT NULL
    );
    CREATE TABLE IF NOT EXISTS {schema}.lending_policies (
        library text PRIMARY KEY,
        loan_days int NOT NULL,
        renewals_allowed int NOT NULL,
        renewal_days int NOT NULL,
        max_active_loans int NOT NULL,
        lends_kinds text[] NOT NULL,
        answer_timeout_hours int NOT NULL
    );
    """

    def statements(self, event: Envelope) -> Iterable[Statement]:
        d = event.data
        if event.type == "libshare.library.PolicySet.v1":
            yield (
                f"INSERT INTO {self.table('lending_policies')} AS p (library, loan_days, "
                "renewals_allowed, renewal_days, max_active_loans, lends_kinds, "
                "answer_timeout_hours) SELECT code, %s, %s, %s, %s, %s, %s "
                f"FROM {self.table('libraries')} WHERE id = %s "
                "ON CONFLICT (library) DO UPDATE SET loan_days = EXCLUDED.loan_days, "
                "renewals_allowed = EXCLUDED.renewals_allowed, "
                "renewal_days = EXCLUDED.renewal_days, "
                "max_active_loans = EXCLUDED.max_active_loans, "
                "lends_kinds = EXCLUDED.lends_kinds, "
                "answer_timeout_hours = EXCLUDED.answer_timeout_hours",
                (
                    d["loan_days"],
                    d["renewals_allowed"],
                    d["renewal_days"],
                    d["max_active_loans"],
                    d["lends_kinds"],
                    d["answer_timeout_hours"],
                    event.aggregate_id,
                ),
            )
        elif event.type == "libshare.library.Renamed.v1":
            yield (
                f"UPDATE {self.table('libraries')} SET name = %s WHERE id = %s",
                (d["name"], event.aggregate_id),
            )
        else:
            yield (
                f"INSERT INTO {self.table('libraries')} "
                "(code, id, name, kind, locality, registered_at) VALUES (%s, %s, %s, %s, %s, %s)",
                (d["code"], event.aggregate_id, d["name"], d["kind"], d["locality"], event.time),
            )


def list_libraries(
    conn: psycopg.Connection[Any], *, kind: str | None = None, locality: str | None = None
) -> list[dict[str, Any]]:
    sql = "SELECT code, name, kind, locality, registered_at FROM libraries WHERE true"
    params: list[Any] = []
    if kind:
        sql += " AND kind = %s"
        params.append(kind)
    if locality:
        sql += " AND locality = %s"
        params.append(locality)
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(sql + " ORDER BY code", params).fetchall()


def get_library(conn: psycopg.Connection[Any], code: str) -> dict[str, Any] | None:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            "SELECT code, name, kind, locality, registered_at FROM libraries WHERE code = %s",
            (code,),
        ).fetchone()
