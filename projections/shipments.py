"""Postal shipments read models: every shipment with its carrier status (following the
carrier's timeline), the partners' pickups, shipments in transit, stuck parcels, and the
monthly postage statements with the province's subsidy per partner agreement."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from infra.envelope import Envelope
from projections.projection import Projection, Statement
from projections.statistics import month_of

FINAL = ("delivered", "returned_to_sender", "lost")
STAGE = {
    "label_created": 0,
    "accepted": 1,
    "in_transit": 2,
    "out_for_delivery": 3,
    "delivery_failed": 4,
    "delivered": 5,
    "returned_to_sender": 5,
    "lost": 5,
}


class ShipmentsProjection(Projection):
    name = "shipments"
    handles = frozenset(
        {
            "libshare.postal-partner.Registered.v1",
            "libshare.shipment.Dispatched.v1",
            "libshare.shipment.CarrierEventRecorded.v1",
            "libshare.shipment.LibraryReplaced.v1",
        }
    )
    tables = ("partners", "shipments", "shipment_carrier_events", "postage_statements")
    ddl = """
    CREATE TABLE IF NOT EXISTS {schema}.partners (
        code text PRIMARY KEY,
        name text NOT NULL,
        subsidy_percent int NOT NULL,
        monthly_cap_per_library numeric(14, 2) NOT NULL
    );
    CREATE TABLE IF NOT EXISTS {schema}.shipments (
        id uuid PRIMARY KEY,
        request_id uuid NOT NULL,
        purpose text NOT NULL,
        sender text NOT NULL,
        recipient text NOT NULL,
        partner text NOT NULL,
        waybill text NOT NULL,
        parcels jsonb NOT NULL,
        status text NOT NULL,
        declared_postage numeric(14, 2) NOT NULL,
        subsidy numeric(14, 2) NOT NULL,
        dispatched_at timestamptz NOT NULL,
        last_carrier_at timestamptz,
        delivered_at timestamptz,
        signer text
    );
    CREATE INDEX IF NOT EXISTS shipments_partner ON {schema}.shipments (partner, status);
    CREATE TABLE IF NOT EXISTS {schema}.shipment_carrier_events (
        shipment_id uuid NOT NULL,
        carrier_event_id text NOT NULL,
        status text NOT NULL,
        at timestamptz NOT NULL,
        stage int NOT NULL,
        facility text NOT NULL,
        signer text NOT NULL,
        reason text NOT NULL,
        PRIMARY KEY (shipment_id, carrier_event_id)
    );
    CREATE TABLE IF NOT EXISTS {schema}.postage_statements (
        month date NOT NULL,
        library text NOT NULL,
        partner text NOT NULL,
        shipments int NOT NULL DEFAULT 0,
        cost numeric(14, 2) NOT NULL DEFAULT 0,
        subsidy numeric(14, 2) NOT NULL DEFAULT 0,
        PRIMARY KEY (month, library, partner)
    );
    """

    def statements(self, event: Envelope) -> Iterable[Statement]:
        d, name = event.data, event.type.split(".")[2]
        ships, carrier = self.table("shipments"), self.table("shipment_carrier_events")
        if event.aggregate_type == "postal-partner":
            yield (
                f"INSERT INTO {self.table('partners')} VALUES (%s, %s, %s, %s)",
                (d["code"], d["name"], d["subsidy_percent"], d["monthly_cap_per_library"]),
            )
        elif name == "Dispatched":
            month, statements = month_of(event.time), self.table("postage_statements")
            # The subsidy: the partner's percentage of the cost, within what is left of the
            # sender's monthly cap with this partner.
            subsidy = (
                f"(SELECT least(round(%(cost)s::numeric * p.subsidy_percent / 100, 2), "
                f"greatest(p.monthly_cap_per_library - coalesce((SELECT s.subsidy FROM "
                f"{statements} s WHERE s.month = %(month)s AND s.library = %(sender)s AND "
                f"s.partner = %(partner)s), 0), 0)) FROM {self.table('partners')} p "
                "WHERE p.code = %(partner)s)"
            )
            params = {
                "id": event.aggregate_id,
                "request": d["request_id"],
                "purpose": d["purpose"],
                "sender": d["sender"],
                "recipient": d["recipient"],
                "partner": d["partner"],
                "waybill": d["waybill"],
                "parcels": Jsonb(d["parcels"]),
                "cost": d["declared_postage"],
                "at": event.time,
                "month": month,
            }
            yield (
                f"INSERT INTO {ships} (id, request_id, purpose, sender, recipient, partner, "
                "waybill, parcels, status, declared_postage, subsidy, dispatched_at) VALUES "
                "(%(id)s, %(request)s, %(purpose)s, %(sender)s, %(recipient)s, %(partner)s, "
                f"%(waybill)s, %(parcels)s, 'created', %(cost)s, coalesce({subsidy}, 0), %(at)s)",
                params,
            )
            yield (
                f"INSERT INTO {statements} AS s (month, library, partner, shipments, cost, "
                f"subsidy) SELECT %(month)s, %(sender)s, %(partner)s, 1, %(cost)s, subsidy "
                f"FROM {ships} WHERE id = %(id)s ON CONFLICT (month, library, partner) DO UPDATE "
                "SET shipments = s.shipments + 1, cost = s.cost + EXCLUDED.cost, "
                "subsidy = s.subsidy + EXCLUDED.subsidy",
                params,
            )
        elif name == "LibraryReplaced":  # a merge or re-code; postage stays with the sender then
            yield (
                f"UPDATE {ships} SET sender = CASE WHEN sender = %(old)s THEN %(new)s ELSE "
                "sender END, recipient = CASE WHEN recipient = %(old)s THEN %(new)s ELSE "
                "recipient END WHERE id = %(id)s",
                {"old": d["old"], "new": d["new"], "id": event.aggregate_id},
            )
        else:  # a carrier event: keep it, then recompute the status from the timeline
            yield (
                f"INSERT INTO {carrier} VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                (
                    event.aggregate_id,
                    d["carrier_event_id"],
                    d["status"],
                    d["at"],
                    STAGE[d["status"]],
                    d["facility"],
                    d["signer"],
                    d["reason"],
                ),
            )
            yield (
                f"UPDATE {ships} s SET status = latest.status, last_carrier_at = latest.last_at, "
                "delivered_at = latest.delivered_at, signer = latest.signer FROM (SELECT "
                f"(SELECT status FROM {carrier} WHERE shipment_id = %(id)s ORDER BY "
                "status = ANY(%(final)s) DESC, at DESC, stage DESC, carrier_event_id DESC "
                "LIMIT 1) AS status, "
                f"(SELECT max(at) FROM {carrier} WHERE shipment_id = %(id)s) AS last_at, "
                f"(SELECT min(at) FROM {carrier} WHERE shipment_id = %(id)s AND "
                "status = 'delivered') AS delivered_at, "
                f"(SELECT min(signer) FROM {carrier} WHERE shipment_id = %(id)s AND "
                "status = 'delivered') AS signer) latest WHERE s.id = %(id)s",
                {"id": event.aggregate_id, "final": list(FINAL)},
            )


SHIPMENT_COLUMNS = (
    "id, request_id, purpose, sender, recipient, partner, waybill, parcels, status, "
    "declared_postage, subsidy, dispatched_at, last_carrier_at, delivered_at, signer"
)


def pickups(conn: psycopg.Connection[Any], partner: str) -> list[dict[str, Any]]:
    """Parcels awaiting pickup by `partner`, grouped by the sending library."""
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(
            f"SELECT {SHIPMENT_COLUMNS} FROM shipments WHERE partner = %s "
            "AND status IN ('created', 'label_created') ORDER BY sender, dispatched_at",
            (partner,),
        ).fetchall()
    by_library: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        by_library.setdefault(r["sender"], []).append(
            {
                "waybill": r["waybill"],
                "recipient": r["recipient"],
                "parcels": r["parcels"],
                "dispatched_at": r["dispatched_at"],
            }
        )
    return [{"library": lib, "parcels": items} for lib, items in by_library.items()]


def in_transit(
    conn: psycopg.Connection[Any], library: str | None = None, stuck_before: datetime | None = None
) -> list[dict[str, Any]]:
    """Shipments not yet delivered, returned or lost; with `stuck_before`, only those whose
    last carrier news (or dispatch) is older than that."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            f"SELECT {SHIPMENT_COLUMNS}, coalesce(last_carrier_at, dispatched_at) "
            "< coalesce(%(stuck)s, '-infinity'::timestamptz) AS stuck FROM shipments "
            "WHERE status <> ALL(%(final)s) AND (%(lib)s::text IS NULL OR "
            "%(lib)s IN (sender, recipient)) AND (%(stuck)s::timestamptz IS NULL OR "
            "coalesce(last_carrier_at, dispatched_at) < %(stuck)s) ORDER BY dispatched_at",
            {"final": list(FINAL), "lib": library, "stuck": stuck_before},
        ).fetchall()


def for_request(conn: psycopg.Connection[Any], request_id: Any) -> list[dict[str, Any]]:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            f"SELECT {SHIPMENT_COLUMNS} FROM shipments WHERE request_id = %s "
            "ORDER BY dispatched_at",
            (request_id,),
        ).fetchall()


def one(conn: psycopg.Connection[Any], shipment_id: Any) -> dict[str, Any] | None:
    """One shipment with the carrier's events, in the carrier's order (stage, then time)."""
    with conn.cursor(row_factory=dict_row) as cur:
        found = cur.execute(
            f"SELECT {SHIPMENT_COLUMNS} FROM shipments WHERE id = %s", (shipment_id,)
        ).fetchone()
        if found is None:
            return None
        found["carrier_events"] = cur.execute(
            "SELECT carrier_event_id, status, at, facility, signer, reason "
            "FROM shipment_carrier_events WHERE shipment_id = %s ORDER BY at, stage",
            (shipment_id,),
        ).fetchall()
    return found


def partner_list(conn: psycopg.Connection[Any]) -> list[dict[str, Any]]:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute("SELECT code, name FROM partners ORDER BY code").fetchall()


def statement(
    conn: psycopg.Connection[Any],
    month: date,
    library: str | None = None,
    partner: str | None = None,
) -> list[dict[str, Any]]:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            "SELECT to_char(month, 'YYYY-MM') AS month, library, partner, shipments, cost, "
            "subsidy, cost - subsidy AS payable FROM postage_statements WHERE month = %s "
            "AND (%s::text IS NULL OR library = %s) AND (%s::text IS NULL OR partner = %s) "
            "ORDER BY library, partner",
            (month, library, library, partner, partner),
        ).fetchall()


def as_csv(rows: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    columns = ["month", "library", "partner", "shipments", "cost", "subsidy", "payable"]
    writer = csv.DictWriter(out, fieldnames=columns)
    writer.writeheader()
    for r in rows:
        writer.writerow({c: r[c] for c in columns})
    return out.getvalue()
