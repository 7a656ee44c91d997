"""The requests read models: every ILL request's current state (the queues of each library
as requester and as supplier, filterable by status) and its full timeline."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any
from uuid import UUID

import psycopg
from psycopg.rows import dict_row

from domain.ill_status import TERMINAL
from infra.causation import cause_of
from infra.envelope import Envelope
from projections.projection import Projection, Statement

# The status an event leaves the request in, where it does not depend on the request.
STATUS_AFTER = {
    "SentToSupplier": "RequestReceived",
    "RotaExhausted": "Unfilled",
    "ExpectsToSupply": "ExpectToSupply",
    "WillSupply": "WillSupply",
    "ConditionsProposed": "RetryPossible",
    "ConditionsAccepted": "WillSupply",
    "Loaned": "Loaned",
    "CopyDelivered": "CopyCompleted",
    "Cancelled": "Cancelled",
    "Recalled": "Recalled",
    "MarkedOverdue": "Overdue",
    "ReturnShipped": "ShippedReturn",
    "LoanCompleted": "LoanCompleted",
    "CompletedWithoutReturn": "CompletedWithoutReturn",
    "ShippedForward": "ShippedForward",
}


class RequestsProjection(Projection):
    name = "requests"
    handles = frozenset(
        {"libshare.shipment.Dispatched.v1", "libshare.shipment.RequestAdded.v1"}
    ) | frozenset(
        f"libshare.ill-request.{name}.v1"
        for name in [
            "Requested",
            "SentToSupplier",
            "RotaExhausted",
            "SupplierSkipped",
            "ExpectsToSupply",
            "WillSupply",
            "ConditionsProposed",
            "ConditionsAccepted",
            "Loaned",
            "CopyDelivered",
            "CancelRequested",
            "CancelAnswered",
            "Cancelled",
            "Received",
            "RenewRequested",
            "RenewAnswered",
            "Recalled",
            "MarkedOverdue",
            "ReminderSent",
            "AnswerReminderSent",
            "ReturnShipped",
            "LoanCompleted",
            "CompletedWithoutReturn",
            "NoteAdded",
            "ShippedForward",
            "ReturnHeld",
            "ReturnHoldReleased",
            "StatusRequested",
            "ParcelDelivered",
            "LibraryReplaced",
            "ReaderForgotten",
        ]
    )
    tables = ("ill_requests", "ill_request_timeline", "ill_request_shipments")
    ddl = """
    CREATE TABLE IF NOT EXISTS {schema}.ill_requests (
        id uuid PRIMARY KEY,
        requester text NOT NULL,
        supplier text,
        work text NOT NULL,
        reader_ref text NOT NULL,
        service_type text NOT NULL,
        status text NOT NULL,
        status_before_cancel text,
        needed_by date,
        answer_due timestamptz,
        due_date date,
        renewals int NOT NULL DEFAULT 0,
        renew_pending boolean NOT NULL DEFAULT false,
        last_reminder date,
        awaiting_receipt boolean NOT NULL DEFAULT false,
        arrived_at timestamptz,
        rota jsonb NOT NULL,
        requested_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL,
        version bigint NOT NULL
    );
    ALTER TABLE {schema}.ill_requests
        ADD COLUMN IF NOT EXISTS awaiting_receipt boolean NOT NULL DEFAULT false;
    ALTER TABLE {schema}.ill_requests
        ADD COLUMN IF NOT EXISTS return_held text NOT NULL DEFAULT '';
    CREATE INDEX IF NOT EXISTS ill_requests_requester ON {schema}.ill_requests (requester, status);
    CREATE INDEX IF NOT EXISTS ill_requests_supplier ON {schema}.ill_requests (supplier, status);
    CREATE TABLE IF NOT EXISTS {schema}.ill_request_timeline (
        request_id uuid NOT NULL,
        version bigint NOT NULL,
        event text NOT NULL,
        at timestamptz NOT NULL,
        actor jsonb,
        data jsonb NOT NULL,
        PRIMARY KEY (request_id, version)
    );
    ALTER TABLE {schema}.ill_request_timeline ADD COLUMN IF NOT EXISTS cause jsonb;
    CREATE TABLE IF NOT EXISTS {schema}.ill_request_shipments (
        shipment_id uuid NOT NULL,
        request_id uuid NOT NULL,
        purpose text NOT NULL
    );
    ALTER TABLE {schema}.ill_request_shipments DROP CONSTRAINT IF EXISTS
        ill_request_shipments_pkey;
    CREATE UNIQUE INDEX IF NOT EXISTS ill_request_shipments_pair
        ON {schema}.ill_request_shipments (shipment_id, request_id);
    """

    def statements(self, event: Envelope) -> Iterable[Statement]:
        d, name = event.data, event.type.split(".")[2]
        t, rid = self.table("ill_requests"), event.aggregate_id
        if event.aggregate_type == "shipment":
            yield from self._shipment(event)
            return
        yield (
            f"INSERT INTO {self.table('ill_request_timeline')} "
            "(request_id, version, event, at, actor, data, cause) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s)",
            (
                rid,
                event.version,
                name,
                event.time,
                json.dumps(event.actor) if event.actor else None,
                json.dumps(d, ensure_ascii=False),
                json.dumps(cause_of(event)),
            ),
        )
        if name == "Requested":
            yield (
                f"INSERT INTO {t} (id, requester, work, reader_ref, service_type, status, "
                "needed_by, rota, requested_at, updated_at, version) "
                "VALUES (%s, %s, %s, %s, %s, 'RequestReceived', %s, %s, %s, %s, %s)",
                (
                    rid,
                    d["requester"],
                    d["work"],
                    d["reader_ref"],
                    d["service_type"],
                    d["needed_by"],
                    json.dumps(d["rota"], ensure_ascii=False),
                    event.time,
                    event.time,
                    event.version,
                ),
            )
            return
        sets, params = ["updated_at = %s", "version = %s"], [event.time, event.version]
        if name in STATUS_AFTER:
            sets.append("status = %s")
            params.append(STATUS_AFTER[name])
        # An answer that starts a new wait carries its deadline (events from before deadlines
        # do not: the request keeps the one it had).
        new_deadline = [("answer_due = coalesce(%s::timestamptz, answer_due)", d.get("answer_due"))]
        extra: dict[str, list[tuple[str, Any]]] = {
            "SentToSupplier": [
                ("supplier = %s", d.get("supplier")),
                ("answer_due = %s", d.get("answer_due")),
            ],
            "ExpectsToSupply": new_deadline,
            "WillSupply": new_deadline,
            "ConditionsProposed": new_deadline,
            "ConditionsAccepted": new_deadline,
            "CancelRequested": [
                ("status_before_cancel = status", None),
                ("status = %s", "CancelPending"),
                *new_deadline,
            ],
            "AnswerReminderSent": [("answer_due = %s", d.get("answer_due"))],
            # A finished request waits on no one: no deadline shows (as in the aggregate).
            "Cancelled": [("status_before_cancel = NULL", None), ("answer_due = %s", None)],
            "CopyDelivered": [("answer_due = %s", None)],
            "RotaExhausted": [("supplier = %s", None), ("answer_due = %s", None)],
            "Loaned": [
                ("due_date = %s", d.get("due_date")),
                ("answer_due = %s", None),
                ("awaiting_receipt = true", None),
            ],
            # A Loaned item is then Received; one already overdue or recalled stays so.
            "Received": [
                ("status = CASE WHEN status = 'Loaned' THEN 'Received' ELSE status END", None),
                ("awaiting_receipt = false", None),
            ],
            # (`OR status`: rows from before the column knew a Loaned item awaited receipt.)
            "MarkedOverdue": [("awaiting_receipt = awaiting_receipt OR status = 'Loaned'", None)],
            "Recalled": [
                ("due_date = least(due_date, %s::date)", d.get("return_by")),
                ("renew_pending = %s", False),
                ("return_held = ''", None),
            ],
            # Who holds the item's return (ISO 18626:2021 HoldReturn), until released.
            "ReturnHeld": [("return_held = %s", d.get("party"))],
            # Released: the due date moved (none on releases recorded before it did).
            "ReturnHoldReleased": [
                ("return_held = ''", None),
                ("due_date = coalesce(%s::date, due_date)", d.get("due_date")),
                (
                    "status = CASE WHEN status <> 'Overdue' OR %s::date IS NULL THEN status "
                    "WHEN awaiting_receipt THEN 'Loaned' ELSE 'Received' END",
                    None,
                ),
            ],
            "RenewRequested": [("renew_pending = %s", True)],
            "ReminderSent": [("last_reminder = %s", d.get("sent_on"))],
            "ReturnShipped": [("renew_pending = %s", False), ("return_held = ''", None)],
            "CompletedWithoutReturn": [("renew_pending = %s", False)],
            "ShippedForward": [("renew_pending = %s", False)],  # the loan ends here
            # The delivery policy recorded the carrier's delivery of a loan's parcel: the
            # request shows it arrived, for the librarian to confirm receipt.
            "ParcelDelivered": [
                (
                    "arrived_at = CASE WHEN %s = 'loan' THEN least(coalesce(arrived_at, "
                    "%s::timestamptz), %s::timestamptz) ELSE arrived_at END",
                    None,
                ),
            ],
        }
        if name == "ReaderForgotten":  # the retention of reading history (ADR 0023)
            sets.append("reader_ref = ''")
            yield (
                f"UPDATE {self.table('ill_request_timeline')} SET data = data - 'reader_ref' "
                "WHERE request_id = %s",
                (rid,),
            )
        if name == "LibraryReplaced":  # a merge or a re-code (ADR 0021)
            sets += ["requester = %s", "supplier = %s", "rota = %s"]
            params += [d["requester"], d["supplier"], json.dumps(d["rota"], ensure_ascii=False)]
        for clause, value in extra.get(name, []):
            sets.append(clause)
            if name == "ParcelDelivered":
                params += [d["purpose"], d["delivered_at"], d["delivered_at"]]
            elif name == "ReturnHoldReleased" and clause.startswith("status"):
                params.append(d.get("due_date"))
            elif "%s" in clause:
                params.append(value)
        if name == "CancelAnswered":
            sets.append("status = CASE WHEN %s THEN 'Cancelled' ELSE status_before_cancel END")
            params.append(d["accepted"])
            sets.append("status_before_cancel = NULL")
            if d["accepted"]:
                sets.append("answer_due = NULL")
            else:
                sets.append(new_deadline[0][0])
                params.append(d.get("answer_due"))
        if name == "RenewAnswered":
            sets.append("renew_pending = false")
            if d["accepted"]:
                sets += [
                    "renewals = renewals + 1",
                    "due_date = %s",
                    "status = CASE WHEN status <> 'Overdue' THEN status "
                    "WHEN awaiting_receipt THEN 'Loaned' ELSE 'Received' END",
                ]
                params.append(d["due_date"])
        # One UPDATE evaluates every SET against the old row, so status_before_cancel takes
        # the status from before this event.
        yield (f"UPDATE {t} SET {', '.join(sets)} WHERE id = %s", (*params, rid))

    def _shipment(self, event: Envelope) -> Iterable[Statement]:
        """Which shipments carry which request (the request's own ParcelDelivered event
        tells that one arrived)."""
        links, d = self.table("ill_request_shipments"), event.data
        if event.type.endswith(("Dispatched.v1", "RequestAdded.v1")):  # one parcel, many
            yield (
                f"INSERT INTO {links} VALUES (%s, %s, %s)",
                (event.aggregate_id, d["request_id"], d["purpose"]),
            )


QUEUE_COLUMNS = (
    "r.id, r.requester, r.supplier, r.work, w.title, r.reader_ref, r.service_type, r.status, "
    "r.needed_by, r.answer_due, r.due_date, r.renewals, r.renew_pending, r.awaiting_receipt, "
    "r.return_held, r.arrived_at, "
    "r.requested_at, "
    "r.updated_at, r.version"
)


def queue(
    conn: psycopg.Connection[Any],
    library: str,
    role: str,
    status: list[str] | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """My library's requests as requester (outgoing) or as current supplier (incoming)."""
    column = {"requester": "r.requester", "supplier": "r.supplier"}[role]
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            f"SELECT {QUEUE_COLUMNS} FROM ill_requests r "
            "LEFT JOIN catalogue_works w ON w.code = r.work "
            f"WHERE {column} = %s AND (%s::text[] IS NULL OR r.status = ANY(%s)) "
            "ORDER BY r.updated_at DESC LIMIT %s OFFSET %s",
            (library, status, status, limit, offset),
        ).fetchall()


def detail(conn: psycopg.Connection[Any], request_id: UUID) -> dict[str, Any] | None:
    with conn.cursor(row_factory=dict_row) as cur:
        found = cur.execute(
            f"SELECT {QUEUE_COLUMNS}, r.rota FROM ill_requests r "
            "LEFT JOIN catalogue_works w ON w.code = r.work WHERE r.id = %s",
            (request_id,),
        ).fetchone()
        if found is None:
            return None
        found["timeline"] = cur.execute(
            "SELECT version, event, at, actor, data, cause FROM ill_request_timeline "
            "WHERE request_id = %s ORDER BY version",
            (request_id,),
        ).fetchall()
    return found


def parties(conn: psycopg.Connection[Any], request_id: UUID) -> set[str]:
    """Every library that was ever a party to the request (requester and asked suppliers)."""
    row = conn.execute(
        "SELECT requester, rota FROM ill_requests WHERE id = %s", (request_id,)
    ).fetchone()
    if row is None:
        return set()
    return {row[0], *(entry["library"] for entry in row[1])}


def open_requests_naming(conn: psycopg.Connection[Any], library: str) -> list[UUID]:
    """Requests not ended that name `library` as requester, supplier or on the rota (what
    a merge or a re-code moves; the aggregate decides, so a lagging row does no harm)."""
    rows = conn.execute(
        "SELECT id FROM ill_requests WHERE status <> ALL(%s) AND (requester = %s "
        "OR supplier = %s OR rota @> %s::jsonb) ORDER BY requested_at, id",
        (
            sorted(s.value for s in TERMINAL),
            library,
            library,
            json.dumps([{"library": library}]),
        ),
    ).fetchall()
    return [r[0] for r in rows]


def due_for_timers(conn: psycopg.Connection[Any], now: Any) -> dict[str, list[UUID]]:
    """Requests a timer must act on: waits past their deadline (a supplier's answer, a
    cancel, conditions awaiting the requester), loans past due (also those whose receipt
    was never confirmed), overdue loans not reminded today; none whose return the
    supplier holds. The read model may lag: the
    aggregate refuses what is no longer due (and a second reminder on one day)."""
    today = now.date()
    q = conn.execute
    return {
        "expire": [
            r[0]
            for r in q(
                "SELECT id FROM ill_requests WHERE status IN ('RequestReceived', "
                "'ExpectToSupply', 'WillSupply', 'RetryPossible', 'CancelPending') "
                "AND answer_due <= %s",
                (now,),
            ).fetchall()
        ],
        "overdue": [
            r[0]
            for r in q(
                "SELECT id FROM ill_requests WHERE status IN ('Loaned', 'Received', 'Recalled') "
                "AND due_date < %s AND return_held <> 'supplier'",
                (today,),
            ).fetchall()
        ],
        "remind": [
            r[0]
            for r in q(
                "SELECT id FROM ill_requests WHERE status = 'Overdue' "
                "AND return_held <> 'supplier' "
                "AND (last_reminder IS NULL OR last_reminder < %s)",
                (today,),
            ).fetchall()
        ],
    }


def ended_before(conn: psycopg.Connection[Any], now: Any, keep_days: int) -> list[UUID]:
    """Ended requests that still name a reader, last changed more than `keep_days` ago
    (the aggregate checks again: the read model may lag)."""
    ended = [s.value for s in TERMINAL]
    return [
        r[0]
        for r in conn.execute(
            "SELECT id FROM ill_requests WHERE status = ANY(%s) AND reader_ref <> '' "
            "AND updated_at < %s - make_interval(days => %s) ORDER BY updated_at LIMIT 500",
            (ended, now, keep_days),
        ).fetchall()
    ]
