"""Monthly statistics per library and for the network, for the Department of Culture:
requests made, filled, unfilled and cancelled, items supplied, fill rate and turnaround
(request to shipment). Postage joins when shipments exist (issue 6); its column is ready."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

import psycopg
from psycopg.rows import dict_row

from infra.envelope import Envelope
from projections.projection import Projection, Statement

COUNTERS = ("requested", "filled", "unfilled", "cancelled", "supplied", "turnaround_n")


def month_of(moment: str | datetime) -> date:
    when = datetime.fromisoformat(moment) if isinstance(moment, str) else moment
    return date(when.year, when.month, 1)


class StatisticsProjection(Projection):
    name = "statistics"
    handles = frozenset(
        f"libshare.ill-request.{n}.v1"
        for n in (
            "Requested",
            "Loaned",
            "CopyDelivered",
            "RotaExhausted",
            "Cancelled",
            "CancelAnswered",
        )
    )
    tables = ("stats_monthly", "stats_requests")
    ddl = """
    CREATE TABLE IF NOT EXISTS {schema}.stats_monthly (
        month date NOT NULL,
        library text NOT NULL,
        requested int NOT NULL DEFAULT 0,
        filled int NOT NULL DEFAULT 0,
        unfilled int NOT NULL DEFAULT 0,
        cancelled int NOT NULL DEFAULT 0,
        supplied int NOT NULL DEFAULT 0,
        turnaround_hours double precision NOT NULL DEFAULT 0,
        turnaround_n int NOT NULL DEFAULT 0,
        postage numeric(14, 2) NOT NULL DEFAULT 0,
        PRIMARY KEY (month, library)
    );
    CREATE TABLE IF NOT EXISTS {schema}.stats_requests (
        request_id uuid PRIMARY KEY,
        requester text NOT NULL,
        requested_at timestamptz NOT NULL,
        filled boolean NOT NULL DEFAULT false
    );
    """

    def _bump(self, month: date, library: str, **deltas: float) -> Statement:
        cols = list(deltas)
        updates = ", ".join(f"{c} = s.{c} + EXCLUDED.{c}" for c in cols)
        return (
            f"INSERT INTO {self.table('stats_monthly')} AS s (month, library, {', '.join(cols)}) "
            f"VALUES (%s, %s{', %s' * len(cols)}) ON CONFLICT (month, library) DO UPDATE SET "
            f"{updates}",
            (month, library, *deltas.values()),
        )

    def statements(self, event: Envelope) -> Iterable[Statement]:
        d, name = event.data, event.type.split(".")[2]
        month, reqs = month_of(event.time), self.table("stats_requests")
        if name == "Requested":
            yield (
                f"INSERT INTO {reqs} (request_id, requester, requested_at) VALUES (%s, %s, %s)",
                (event.aggregate_id, d["requester"], event.time),
            )
            yield self._bump(month, d["requester"], requested=1)
            return
        if name in ("Loaned", "CopyDelivered") and not d.get("forwarded_from"):
            yield self._bump(month, d["supplier"], supplied=1)
            yield (
                f"INSERT INTO {self.table('stats_monthly')} AS s (month, library, filled, "
                "turnaround_hours, turnaround_n) SELECT %s, requester, 1, "
                "extract(epoch FROM %s - requested_at) / 3600, 1 "
                f"FROM {reqs} WHERE request_id = %s AND NOT filled "
                "ON CONFLICT (month, library) DO UPDATE SET filled = s.filled + 1, "
                "turnaround_hours = s.turnaround_hours + EXCLUDED.turnaround_hours, "
                "turnaround_n = s.turnaround_n + 1",
                (month, event.time, event.aggregate_id),
            )
            yield (f"UPDATE {reqs} SET filled = true WHERE request_id = %s", (event.aggregate_id,))
        elif (
            name == "RotaExhausted"
            or name == "Cancelled"
            or (name == "CancelAnswered" and d["accepted"])
        ):
            column = "unfilled" if name == "RotaExhausted" else "cancelled"
            yield (  # counted for the requester, found through the request's first event
                f"INSERT INTO {self.table('stats_monthly')} AS s (month, library, {column}) "
                f"SELECT %s, requester, 1 FROM {reqs} WHERE request_id = %s "
                f"ON CONFLICT (month, library) DO UPDATE SET {column} = s.{column} + 1",
                (month, event.aggregate_id),
            )


def monthly(conn: psycopg.Connection[Any], month: date) -> dict[str, Any]:
    """One month: a row per library and the network's totals, with fill rate and the
    average turnaround in hours."""
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(
            "SELECT library, requested, filled, unfilled, cancelled, supplied, "
            "turnaround_hours, turnaround_n, postage FROM stats_monthly WHERE month = %s "
            "ORDER BY library",
            (month,),
        ).fetchall()
    total: dict[str, Any] = {c: sum(r[c] for r in rows) for c in COUNTERS}
    total["turnaround_hours"] = sum(r["turnaround_hours"] for r in rows)
    total["postage"] = sum((r["postage"] for r in rows), start=0)
    return {
        "month": month.isoformat()[:7],
        "libraries": [_rates(r) for r in rows],
        "network": _rates(total),
    }


def _rates(r: dict[str, Any]) -> dict[str, Any]:
    decided = r["filled"] + r["unfilled"]
    out = {k: v for k, v in r.items() if k not in ("turnaround_hours", "turnaround_n")}
    out["fill_rate"] = round(r["filled"] / decided, 3) if decided else None
    out["avg_turnaround_hours"] = (
        round(r["turnaround_hours"] / r["turnaround_n"], 1) if r["turnaround_n"] else None
    )
    out["postage"] = str(r["postage"])
    return out
