"""Monthly statistics per library and for the network, for the Department of Culture:
requests made, filled, unfilled and cancelled, items supplied, fill rate, turnaround
(request to shipment) and postage (the declared postage of the shipments a library sent).
Stuck shipments depend on the clock, not on an event: they are counted when queried, from
the shipments read model (ADR 0007)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import psycopg
from psycopg.rows import dict_row

from domain.shipment import FINAL
from infra.envelope import Envelope
from projections.libraries import structure_as_of
from projections.projection import Projection, Statement

COUNTERS = ("requested", "filled", "unfilled", "cancelled", "supplied", "turnaround_n")


def month_of(moment: str | datetime) -> date:
    when = datetime.fromisoformat(moment) if isinstance(moment, str) else moment
    return date(when.year, when.month, 1)


class StatisticsProjection(Projection):
    name = "statistics"
    handles = frozenset(
        {
            *(
                f"libshare.ill-request.{n}.v1"
                for n in (
                    "Requested",
                    "Loaned",
                    "CopyDelivered",
                    "RotaExhausted",
                    "Cancelled",
                    "CancelAnswered",
                )
            ),
            "libshare.shipment.Dispatched.v1",
        }
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

    def _bump(self, month: date, library: str, **deltas: float | Decimal) -> Statement:
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
        if event.aggregate_type == "shipment":  # Dispatched: the sender pays the postage
            yield self._bump(month, d["sender"], postage=Decimal(d["declared_postage"]))
            return
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


def monthly(
    conn: psycopg.Connection[Any],
    month: date,
    stuck_after_days: int | None = None,
    now: datetime | None = None,
    structure: date | None = None,
) -> dict[str, Any]:
    """One month: a row per library and the network's totals, with fill rate, the average
    turnaround in hours and the postage. With `stuck_after_days`, also `stuck`: how many
    of the shipments a library sent that month are, at `now` (the current time by
    default), neither delivered, returned nor lost and without carrier news (or, with
    none, dispatched) for that many days. With `structure`, the rows are grouped by the
    network as it was on that day (ADR 0021): each under the library its code belonged to
    then (a library merged by then counts for the one it became part of), with its name,
    parent and province of that day."""
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(
            "SELECT library, requested, filled, unfilled, cancelled, supplied, "
            "turnaround_hours, turnaround_n, postage FROM stats_monthly WHERE month = %s "
            "ORDER BY library",
            (month,),
        ).fetchall()
    if stuck_after_days is not None:
        stuck = stuck_shipments(conn, month, stuck_after_days, now or datetime.now(UTC))
        zero = dict.fromkeys(COUNTERS, 0) | {"turnaround_hours": 0.0, "postage": Decimal(0)}
        known = {r["library"] for r in rows}
        rows += [{"library": lib, **zero} for lib in stuck if lib not in known]
        rows.sort(key=lambda r: r["library"])
        for r in rows:
            r["stuck"] = stuck.get(r["library"], 0)
    if structure is not None:
        rows = _regrouped(rows, structure_as_of(conn, structure))
    total: dict[str, Any] = {c: sum(r[c] for r in rows) for c in COUNTERS}
    total["turnaround_hours"] = sum(r["turnaround_hours"] for r in rows)
    total["postage"] = sum((r["postage"] for r in rows), start=Decimal("0.00"))
    if stuck_after_days is not None:
        total["stuck"] = sum(r["stuck"] for r in rows)
    return {
        "month": month.isoformat()[:7],
        "libraries": [_rates(r) for r in rows],
        "network": _rates(total),
    }


def stuck_shipments(
    conn: psycopg.Connection[Any], month: date, stuck_after_days: int, now: datetime
) -> dict[str, int]:
    """Per sending library: shipments dispatched in `month` (UTC, as the monthly rows) and
    stuck at `now`, read from the shipments read model."""
    start = datetime(month.year, month.month, 1, tzinfo=UTC)
    end = datetime(month.year + month.month // 12, month.month % 12 + 1, 1, tzinfo=UTC)
    rows = conn.execute(
        "SELECT sender, count(*) FROM shipments WHERE dispatched_at >= %s "
        "AND dispatched_at < %s AND status <> ALL(%s) "
        "AND coalesce(last_carrier_at, dispatched_at) < %s GROUP BY sender",
        (start, end, sorted(s.value for s in FINAL), now - timedelta(days=stuck_after_days)),
    ).fetchall()
    return {sender: int(n) for sender, n in rows}


def _regrouped(
    rows: list[dict[str, Any]], structure: dict[str, dict[str, Any]]
) -> list[dict[str, Any]]:
    """Rows summed per library of `structure` (code -> that library then); a code the
    registry does not know stays as it is."""
    grouped: dict[str, dict[str, Any]] = {}
    for r in rows:
        then = structure.get(r["library"], {"code": r["library"]})
        into = grouped.setdefault(
            then["code"],
            {
                "library": then["code"],
                "name": then.get("name"),
                "parent": then.get("parent"),
                "province": then.get("province"),
                **{k: 0 for k in r if k != "library"},
            },
        )
        for k, v in r.items():
            if k != "library":
                into[k] += v
    return sorted(grouped.values(), key=lambda g: g["library"])


def _rates(r: dict[str, Any]) -> dict[str, Any]:
    decided = r["filled"] + r["unfilled"]
    out = {k: v for k, v in r.items() if k not in ("turnaround_hours", "turnaround_n")}
    out["fill_rate"] = round(r["filled"] / decided, 3) if decided else None
    out["avg_turnaround_hours"] = (
        round(r["turnaround_hours"] / r["turnaround_n"], 1) if r["turnaround_n"] else None
    )
    out["postage"] = str(r["postage"])
    return out
