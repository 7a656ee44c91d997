"""The readers read model: one row per card, pseudonymous (the card number, its home
library, type, age band, status, expiry: never a name, a date of birth or a contact;
those stay sealed in the events, ADR 0023). An erased reader's row stays, marked erased,
so that statistics of registrations keep counting them."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

import psycopg
from psycopg.rows import dict_row

from infra.envelope import Envelope
from projections.projection import Projection, Statement

EVENTS = (
    "Registered",
    "GuardianConsented",
    "Activated",
    "Renewed",
    "Suspended",
    "Reinstated",
    "ErasureRequested",
    "ReaderErased",
)
STATUS_AFTER = {"Activated": "active", "Suspended": "suspended", "Reinstated": "active"}


class ReadersProjection(Projection):
    name = "readers"
    handles = frozenset(f"libshare.reader.{e}.v1" for e in EVENTS)
    tables = ("readers",)
    ddl = """
    CREATE TABLE IF NOT EXISTS {schema}.readers (
        id uuid PRIMARY KEY,
        reader_ref text NOT NULL UNIQUE,
        home_library text NOT NULL,
        card_type text NOT NULL,
        age_band text NOT NULL,
        minor boolean NOT NULL,
        guardian_consent boolean NOT NULL,
        status text NOT NULL,
        expires date,
        registered_at timestamptz NOT NULL,
        erasure_requested_at timestamptz,
        erased_at timestamptz
    );
    CREATE INDEX IF NOT EXISTS readers_by_library ON {schema}.readers (home_library);
    """

    def statements(self, event: Envelope) -> Iterable[Statement]:
        d, kind, aid = event.data, event.type.split(".")[2], event.aggregate_id
        readers = self.table("readers")
        if kind == "Registered":
            yield (
                f"INSERT INTO {readers} (id, reader_ref, home_library, card_type, age_band, "
                "minor, guardian_consent, status, registered_at) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
                (
                    aid,
                    d["reader_ref"],
                    d["home_library"],
                    d["card_type"],
                    d["age_band"],
                    d["minor"],
                    d["guardian_consent"],
                    "pending",
                    event.time,
                ),
            )
        elif kind == "GuardianConsented":
            yield (f"UPDATE {readers} SET guardian_consent = true WHERE id = %s", (aid,))
        elif kind in ("Activated", "Renewed"):
            yield (
                f"UPDATE {readers} SET status = CASE WHEN %s THEN 'active' ELSE status END, "
                "expires = %s WHERE id = %s",
                (kind == "Activated", date.fromisoformat(d["expires"]), aid),
            )
        elif kind in STATUS_AFTER:
            yield (f"UPDATE {readers} SET status = %s WHERE id = %s", (STATUS_AFTER[kind], aid))
        elif kind == "ErasureRequested":
            yield (
                f"UPDATE {readers} SET erasure_requested_at = %s WHERE id = %s",
                (event.time, aid),
            )
        elif kind == "ReaderErased":
            yield (
                f"UPDATE {readers} SET status = 'erased', erased_at = %s WHERE id = %s",
                (event.time, aid),
            )


def reader_statistics(conn: psycopg.Connection[Any]) -> dict[str, Any]:
    """Cards registered per home library and age band, and cards by status: erased
    readers count as registered (and as erased)."""
    with conn.cursor(row_factory=dict_row) as cur:
        registered = cur.execute(
            "SELECT home_library, age_band, count(*) AS cards FROM readers "
            "GROUP BY home_library, age_band ORDER BY home_library, age_band"
        ).fetchall()
        by_status = cur.execute(
            "SELECT status, count(*) AS cards FROM readers GROUP BY status ORDER BY status"
        ).fetchall()
    return {
        "registered": registered,
        "by_status": {r["status"]: r["cards"] for r in by_status},
        "total": sum(r["cards"] for r in registered),
    }


def cards_of(
    conn: psycopg.Connection[Any], library: str, status: str | None, limit: int = 200
) -> list[dict[str, Any]]:
    """A library's cards (its desk's queue: `status='pending'`), newest first."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            "SELECT reader_ref, status, card_type, age_band, minor, guardian_consent, expires, "
            "registered_at FROM readers WHERE home_library = %s "
            "AND (%s::text IS NULL OR status = %s) ORDER BY registered_at DESC LIMIT %s",
            (library, status, status, limit),
        ).fetchall()
