"""The transfers and rotations read models: one row per transfer (its parties, status,
counts and who it waits for) with a line per copy it names (what happened to that copy
on it) and its timeline; one row per rotating collection (where the box is, until when,
what it lost) with the box's stays at each library, from which the department's
statistics count copies out on rotation per library and month.

Every table here follows the events of one aggregate only (a transfer's rows its own
events, a rotation's rows its own), so no order between aggregates is assumed: the Kafka
path keeps order per aggregate, not across them.

What the statistics mean ("copies out on rotation per library and month"): a box *stays*
at a stage's library from the day the transfer that brought it there closed (BoxArrived:
the receiver signed the receipt) until the day the box arrived at its next destination
(the next BoxArrived, or Completed when it is home again), the copies of the stay being
those that arrived (the box less what went missing on the way there). The library holds
the copies until someone else signs for them, so the trip out counts at the library that
sent them. For a month and a holding library: `copies_at_month_end` is the sum of the
copies of the stays open at the end of the month's last day (or of today, for the current
month); `copy_days` is the sum over stays of copies x days of the stay inside the month
(the arrival day counts, the leaving day does not); `average_copies` is copy_days divided
by the days of the month counted; `rotations` is how many boxes stayed there that month.
Deposits are rotations of one stage and count the same way.

Overdue boxes: a rotation whose box is at a stage (or on its way on from one, until the
next library signs for it) past the due date of that stage."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import date, timedelta
from typing import Any
from uuid import UUID

import psycopg
from psycopg.rows import dict_row

from infra.causation import cause_of
from infra.envelope import Envelope
from projections.projection import Projection, Statement

TRANSFER_EVENTS = (
    "Proposed",
    "Approved",
    "Rejected",
    "Cancelled",
    "CopiesPicked",
    "CopyDropped",
    "Dispatched",
    "ParcelDelivered",
    "CopiesReceived",
    "Closed",
    "MissingCopyFound",
    "DueDateExtended",
    "LibraryReplaced",
)
ROTATION_EVENTS = (
    "Planned",
    "BoxMoving",
    "BoxArrived",
    "Completed",
    "MoveCancelled",
    "StageExtended",
    "LibraryReplaced",
)
OPEN_STATUSES = ("proposed", "approved", "in_transit")
NETWORK = "network"


class TransfersProjection(Projection):
    name = "transfers"
    handles = frozenset(f"libshare.transfer.{n}.v1" for n in TRANSFER_EVENTS) | frozenset(
        f"libshare.rotation.{n}.v1" for n in ROTATION_EVENTS
    )
    tables = (
        "transfers",
        "transfer_copies",
        "transfer_timeline",
        "rotations",
        "rotation_stays",
    )
    ddl = """
    CREATE TABLE IF NOT EXISTS {schema}.transfers (
        id uuid PRIMARY KEY,
        sender text NOT NULL,
        receiver text NOT NULL,
        proposed_by text NOT NULL,
        reason text NOT NULL,
        status text NOT NULL,
        due_date date,
        copies int NOT NULL,
        picked int NOT NULL DEFAULT 0,
        sent int NOT NULL DEFAULT 0,
        received int NOT NULL DEFAULT 0,
        damaged int NOT NULL DEFAULT 0,
        extras int NOT NULL DEFAULT 0,
        missing int NOT NULL DEFAULT 0,
        found int NOT NULL DEFAULT 0,
        shipments int NOT NULL DEFAULT 0,
        delivered int NOT NULL DEFAULT 0,
        approvals_needed text[] NOT NULL,
        waiting_for text[] NOT NULL,
        rotation_id text NOT NULL,
        note text NOT NULL,
        proposed_at timestamptz NOT NULL,
        dispatched_at timestamptz,
        closed_at timestamptz,
        ended_at timestamptz,
        updated_at timestamptz NOT NULL,
        version bigint NOT NULL
    );
    CREATE INDEX IF NOT EXISTS transfers_sender ON {schema}.transfers (sender, status);
    CREATE INDEX IF NOT EXISTS transfers_receiver ON {schema}.transfers (receiver, status);
    CREATE TABLE IF NOT EXISTS {schema}.transfer_copies (
        transfer_id uuid NOT NULL,
        barcode text NOT NULL,
        position int NOT NULL,
        state text NOT NULL,
        note text NOT NULL DEFAULT '',
        PRIMARY KEY (transfer_id, barcode)
    );
    CREATE TABLE IF NOT EXISTS {schema}.transfer_timeline (
        transfer_id uuid NOT NULL,
        version bigint NOT NULL,
        event text NOT NULL,
        at timestamptz NOT NULL,
        actor jsonb,
        data jsonb NOT NULL,
        PRIMARY KEY (transfer_id, version)
    );
    ALTER TABLE {schema}.transfer_timeline ADD COLUMN IF NOT EXISTS cause jsonb;
    CREATE TABLE IF NOT EXISTS {schema}.rotations (
        id uuid PRIMARY KEY,
        home text NOT NULL,
        name text NOT NULL,
        status text NOT NULL,
        cyclical boolean NOT NULL,
        stages jsonb NOT NULL,
        stage int,
        next_stage int,
        at_library text NOT NULL,
        going_to text,
        transfer_id text,
        due_date date,
        next_due_date date,
        copies int NOT NULL,
        lost text[] NOT NULL DEFAULT '{{}}',
        planned_at timestamptz NOT NULL,
        completed_at timestamptz,
        updated_at timestamptz NOT NULL,
        version bigint NOT NULL
    );
    CREATE INDEX IF NOT EXISTS rotations_home ON {schema}.rotations (home);
    CREATE INDEX IF NOT EXISTS rotations_at ON {schema}.rotations (at_library);
    CREATE TABLE IF NOT EXISTS {schema}.rotation_stays (
        rotation_id uuid NOT NULL,
        seq bigint NOT NULL,
        library text NOT NULL,
        copies int NOT NULL,
        arrived_on date NOT NULL,
        left_on date,
        PRIMARY KEY (rotation_id, seq)
    );
    CREATE INDEX IF NOT EXISTS rotation_stays_library ON {schema}.rotation_stays (library);
    """

    def statements(self, event: Envelope) -> Iterable[Statement]:
        if event.aggregate_type == "rotation":
            yield from self._rotation(event)
        else:
            yield from self._transfer(event)

    # -- transfers ----------------------------------------------------------------------------
    def _transfer(self, event: Envelope) -> Iterable[Statement]:
        d, name, tid = event.data, event.type.split(".")[2], event.aggregate_id
        t, lines = self.table("transfers"), self.table("transfer_copies")
        yield (
            f"INSERT INTO {self.table('transfer_timeline')} "
            "(transfer_id, version, event, at, actor, data, cause) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s)",
            (
                tid,
                event.version,
                name,
                event.time,
                json.dumps(event.actor, ensure_ascii=False) if event.actor else None,
                json.dumps(d, ensure_ascii=False),
                json.dumps(cause_of(event)),
            ),
        )
        if name == "Proposed":
            yield (
                f"INSERT INTO {t} (id, sender, receiver, proposed_by, reason, status, due_date, "
                "copies, approvals_needed, waiting_for, rotation_id, note, proposed_at, "
                "updated_at, version) VALUES "
                "(%s, %s, %s, %s, %s, 'proposed', %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                (
                    tid,
                    d["sender"],
                    d["receiver"],
                    d["proposed_by"],
                    d["reason"],
                    d["due_date"],
                    len(d["copies"]),
                    d["approvals_needed"],
                    d["approvals_needed"],
                    d["rotation_id"],
                    d["note"],
                    d["proposed_at"],
                    event.time,
                    event.version,
                ),
            )
            for position, barcode in enumerate(d["copies"]):
                yield (
                    f"INSERT INTO {lines} (transfer_id, barcode, position, state) "
                    "VALUES (%s, %s, %s, %s)",
                    (tid, barcode, position, "listed"),
                )
            return
        sets: list[str] = []
        params: list[Any] = []
        line_changes: list[tuple[str, str, str]] = []  # barcode, state, note
        if name == "Approved":
            sets += ["waiting_for = array_remove(waiting_for, %s)"]
            params += [d["party"]]
            if d["complete"]:
                sets.append("status = 'approved'")
        elif name in ("Rejected", "Cancelled"):
            sets += [
                "status = %s",
                "waiting_for = '{}'",
                "ended_at = %s",
            ]
            params += ["rejected" if name == "Rejected" else "cancelled", event.time]
        elif name == "CopiesPicked":
            sets.append("picked = picked + %s")
            params.append(len(d["copies"]))
            line_changes += [(b, "picked", "") for b in d["copies"]]
        elif name == "CopyDropped":
            sets += [
                "copies = copies - 1",
                f"picked = picked - (SELECT count(*) FROM {lines} WHERE transfer_id = %s "
                "AND barcode = %s AND state = 'picked')::int",
            ]
            params += [tid, d["barcode"]]
            line_changes.append((d["barcode"], "dropped", d["reason"]))
        elif name == "Dispatched":
            sets += [
                "status = 'in_transit'",
                "sent = %s",
                "shipments = %s",
                "dispatched_at = %s",
            ]
            params += [len(d["copies"]), len(d["shipments"]), d["dispatched_at"]]
            line_changes += [(b, "sent", "") for b in d["copies"]]
        elif name == "ParcelDelivered":
            sets.append("delivered = delivered + 1")
        elif name == "CopiesReceived":
            damaged = [c for c in d["copies"] if c["condition"]]
            sets += ["received = received + %s", "damaged = damaged + %s", "extras = extras + %s"]
            params += [len(d["copies"]), len(damaged), len(d["extras"])]
            line_changes += [
                (c["barcode"], "damaged" if c["condition"] else "received", c["condition"])
                for c in d["copies"]
            ]
            for barcode in d["extras"]:
                yield (
                    f"INSERT INTO {lines} (transfer_id, barcode, position, state) "
                    f"SELECT %s, %s, coalesce(max(position), -1) + 1, 'extra' FROM {lines} "
                    "WHERE transfer_id = %s ON CONFLICT (transfer_id, barcode) DO NOTHING",
                    (tid, barcode, tid),
                )
        elif name == "Closed":
            sets += ["status = 'closed'", "missing = %s", "closed_at = %s", "ended_at = %s"]
            params += [len(d["missing"]), d["closed_at"], d["closed_at"]]
            line_changes += [(b, "missing", "") for b in d["missing"]]
            line_changes += [(b, "elsewhere", lib) for b, lib in d["elsewhere"].items()]
        elif name == "MissingCopyFound":
            sets += ["missing = missing - 1", "found = found + 1"]
            line_changes.append((d["barcode"], "found", d["found_at"]))
        elif name == "DueDateExtended":
            sets.append("due_date = %s")
            params.append(d["due_date"])
        elif name == "LibraryReplaced":  # a merge or a re-code (ADR 0021)
            waiting = [p for p in d["approvals_needed"] if p not in d["approved_by"]]
            sets += ["sender = %s", "receiver = %s", "proposed_by = %s"]
            sets += ["approvals_needed = %s", "waiting_for = %s"]
            params += [d["sender"], d["receiver"], d["proposed_by"]]
            params += [d["approvals_needed"], waiting]
        sets += ["updated_at = %s", "version = %s"]
        params += [event.time, event.version]
        yield (f"UPDATE {t} SET {', '.join(sets)} WHERE id = %s", (*params, tid))
        for barcode, state, note in line_changes:
            yield (
                f"UPDATE {lines} SET state = %s, note = %s WHERE transfer_id = %s AND barcode = %s",
                (state, note, tid, barcode),
            )

    # -- rotations ----------------------------------------------------------------------------
    def _rotation(self, event: Envelope) -> Iterable[Statement]:
        d, name, rid = event.data, event.type.split(".")[2], event.aggregate_id
        r, stays = self.table("rotations"), self.table("rotation_stays")
        if name == "Planned":
            yield (
                f"INSERT INTO {r} (id, home, name, status, cyclical, stages, at_library, copies, "
                "planned_at, updated_at, version) "
                "VALUES (%s, %s, %s, 'planned', %s, %s, %s, %s, %s, %s, %s)",
                (
                    rid,
                    d["home"],
                    d["name"],
                    d["cyclical"],
                    json.dumps(d["stages"], ensure_ascii=False),
                    d["home"],
                    len(d["copies"]),
                    event.time,
                    event.time,
                    event.version,
                ),
            )
            return
        sets: list[str] = []
        params: list[Any] = []
        after: list[Statement] = []
        if name == "BoxMoving":
            # The box stays the responsibility of where it is until the next one signs:
            # the due date of the stage it leaves holds until then.
            sets += [
                "status = 'moving'",
                "transfer_id = %s",
                "going_to = %s",
                "next_stage = %s",
                "next_due_date = %s",
            ]
            params += [d["transfer_id"], d["to_library"], d["stage"], d["due_date"]]
        elif name in ("BoxArrived", "Completed"):
            on = d["returned_on"] if name == "Completed" else event.time.date().isoformat()
            sets += [
                "transfer_id = NULL",
                "going_to = NULL",
                "next_stage = NULL",
                "next_due_date = NULL",
                "lost = lost || %s::text[]",
                "copies = copies - %s",
            ]
            params += [d["lost"], len(d["lost"])]
            if name == "BoxArrived":
                sets += [
                    "status = 'at_stage'",
                    "stage = next_stage",
                    "at_library = %s",
                    "due_date = %s",
                ]
                params += [d["library"], d["due_date"]]
            else:
                sets += [
                    "status = 'completed'",
                    "at_library = home",
                    "due_date = NULL",
                    "completed_at = %s",
                ]
                params.append(event.time)
            yield (
                f"UPDATE {stays} SET left_on = %s WHERE rotation_id = %s AND left_on IS NULL",
                (on, rid),
            )
            if name == "BoxArrived":
                after.append(
                    (
                        f"INSERT INTO {stays} (rotation_id, seq, library, copies, arrived_on) "
                        f"SELECT id, version, at_library, copies, %s FROM {r} WHERE id = %s",
                        (on, rid),
                    )
                )
        elif name == "MoveCancelled":
            sets += [
                "transfer_id = NULL",
                "going_to = NULL",
                "next_stage = NULL",
                "next_due_date = NULL",
                "status = CASE WHEN at_library = home THEN 'planned' ELSE 'at_stage' END",
            ]
        elif name == "StageExtended":
            sets.append("due_date = %s")
            params.append(d["due_date"])
        elif name == "LibraryReplaced":  # a merge or a re-code (ADR 0021)
            old, new = d["old"], d["new"]
            sets += [
                "home = CASE WHEN home = %s THEN %s ELSE home END",
                "at_library = CASE WHEN at_library = %s THEN %s ELSE at_library END",
                "going_to = CASE WHEN going_to = %s THEN %s ELSE going_to END",
                "stages = %s",
            ]
            params += [old, new, old, new, old, new, json.dumps(d["stages"], ensure_ascii=False)]
        sets += ["updated_at = %s", "version = %s"]
        params += [event.time, event.version]
        yield (f"UPDATE {r} SET {', '.join(sets)} WHERE id = %s", (*params, rid))
        yield from after


# -- queries ----------------------------------------------------------------------------------
TRANSFER_COLUMNS = (
    "t.id, t.sender, t.receiver, t.proposed_by, t.reason, t.status, t.due_date, t.copies, "
    "t.picked, t.sent, t.received, t.damaged, t.extras, t.missing, t.found, t.shipments, "
    "t.delivered, t.approvals_needed, t.waiting_for, t.rotation_id, t.note, t.proposed_at, "
    "t.dispatched_at, t.closed_at, t.ended_at, t.updated_at, t.version, "
    "t.status = ANY(%(open)s) AS open"
)


def transfer_queue(
    conn: psycopg.Connection[Any],
    library: str,
    direction: str = "both",
    *,
    needs_approval: bool = False,
    open_only: bool = False,
    limit: int = 100,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """A library's transfers, incoming (it receives), outgoing (it sends) or both; open
    ones first, then the latest changed. `needs_approval`: only those waiting for it.
    Each row says which way it goes for the library and whether it waits for it."""
    where = {
        "incoming": "t.receiver = %(library)s",
        "outgoing": "t.sender = %(library)s",
        "both": "(t.receiver = %(library)s OR t.sender = %(library)s)",
    }[direction]
    if needs_approval:
        where += " AND %(library)s = ANY(t.waiting_for) AND t.status = 'proposed'"
    if open_only:
        where += " AND t.status = ANY(%(open)s)"
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(
            f"SELECT {TRANSFER_COLUMNS}, "
            "CASE WHEN t.receiver = %(library)s THEN 'incoming' ELSE 'outgoing' END "
            "AS direction, "
            "(t.status = 'proposed' AND %(library)s = ANY(t.waiting_for)) AS needs_my_approval "
            f"FROM transfers t WHERE {where} "
            "ORDER BY (t.status = ANY(%(open)s)) DESC, t.updated_at DESC "
            "LIMIT %(limit)s OFFSET %(offset)s",
            {"library": library, "open": list(OPEN_STATUSES), "limit": limit, "offset": offset},
        ).fetchall()
    return rows


def network_approval_queue(
    conn: psycopg.Connection[Any], limit: int = 100, offset: int = 0
) -> list[dict[str, Any]]:
    """Transfers waiting for the network administrator's approval, the oldest first."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            f"SELECT {TRANSFER_COLUMNS}, true AS needs_my_approval FROM transfers t "
            "WHERE t.status = 'proposed' AND %(network)s = ANY(t.waiting_for) "
            "ORDER BY t.proposed_at LIMIT %(limit)s OFFSET %(offset)s",
            {"open": list(OPEN_STATUSES), "network": NETWORK, "limit": limit, "offset": offset},
        ).fetchall()


def transfer_detail(conn: psycopg.Connection[Any], transfer_id: UUID) -> dict[str, Any] | None:
    """One transfer with its copy lines (in the order it named them, extras last) and
    its timeline."""
    with conn.cursor(row_factory=dict_row) as cur:
        found = cur.execute(
            f"SELECT {TRANSFER_COLUMNS} FROM transfers t WHERE t.id = %(id)s",
            {"open": list(OPEN_STATUSES), "id": transfer_id},
        ).fetchone()
        if found is None:
            return None
        found["lines"] = cur.execute(
            "SELECT barcode, state, note FROM transfer_copies WHERE transfer_id = %s "
            "ORDER BY position",
            (transfer_id,),
        ).fetchall()
        found["timeline"] = cur.execute(
            "SELECT version, event, at, actor, data, cause FROM transfer_timeline "
            "WHERE transfer_id = %s ORDER BY version",
            (transfer_id,),
        ).fetchall()
    return found


def transfer_parties(conn: psycopg.Connection[Any], transfer_id: UUID) -> set[str]:
    row = conn.execute(
        "SELECT sender, receiver, proposed_by FROM transfers WHERE id = %s", (transfer_id,)
    ).fetchone()
    return set(row) if row else set()


ROTATION_COLUMNS = (
    "r.id, r.home, r.name, r.status, r.cyclical, r.stages, r.stage, r.next_stage, "
    "r.at_library, r.going_to, r.transfer_id, r.due_date, r.next_due_date, r.copies, r.lost, "
    "r.planned_at, r.completed_at, r.updated_at, r.version, "
    "(r.status <> 'completed' AND r.due_date IS NOT NULL AND r.due_date < %(today)s) "
    "AS overdue"
)


def rotations_of(
    conn: psycopg.Connection[Any],
    library: str,
    today: date,
    *,
    side: str = "both",
    overdue_only: bool = False,
) -> list[dict[str, Any]]:
    """A library's rotations: those it is home to, those whose box it holds (or that
    plan a stage at it), or both. `overdue_only`: boxes past their stage's due date
    (`today` is the day they are judged on). Overdue first, then the latest changed."""
    where = {
        "home": "r.home = %(library)s",
        "holding": "r.at_library = %(library)s AND r.home <> %(library)s",
        "both": "(r.home = %(library)s OR r.at_library = %(library)s "
        "OR r.stages @> jsonb_build_array(jsonb_build_object('library', %(library)s::text)))",
    }[side]
    if overdue_only:
        # Overdue is the business of the box's home and of the library holding it.
        if side == "both":
            where = "(r.home = %(library)s OR r.at_library = %(library)s)"
        where += " AND r.status <> 'completed' AND r.due_date < %(today)s"
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            f"SELECT {ROTATION_COLUMNS} FROM rotations r WHERE {where} "
            "ORDER BY overdue DESC, r.updated_at DESC",
            {"library": library, "today": today},
        ).fetchall()


def overdue_rotations(
    conn: psycopg.Connection[Any], library: str, today: date, side: str = "both"
) -> list[dict[str, Any]]:
    """Overdue boxes for the home library (side home), the holding library (holding) or
    either."""
    return rotations_of(conn, library, today, side=side, overdue_only=True)


def rotation_detail(
    conn: psycopg.Connection[Any], rotation_id: UUID, today: date
) -> dict[str, Any] | None:
    with conn.cursor(row_factory=dict_row) as cur:
        found = cur.execute(
            f"SELECT {ROTATION_COLUMNS} FROM rotations r WHERE r.id = %(id)s",
            {"id": rotation_id, "today": today},
        ).fetchone()
        if found is None:
            return None
        found["stays"] = cur.execute(
            "SELECT library, copies, arrived_on, left_on FROM rotation_stays "
            "WHERE rotation_id = %s ORDER BY seq",
            (rotation_id,),
        ).fetchall()
        found["transfers"] = cur.execute(
            "SELECT id, sender, receiver, reason, status, due_date, copies, received, missing "
            "FROM transfers WHERE rotation_id = %s ORDER BY proposed_at",
            (str(rotation_id),),
        ).fetchall()
    return found


def rotation_parties(conn: psycopg.Connection[Any], rotation_id: UUID) -> set[str]:
    row = conn.execute(
        "SELECT home, stages FROM rotations WHERE id = %s", (rotation_id,)
    ).fetchone()
    if row is None:
        return set()
    return {row[0], *(s["library"] for s in row[1])}


def rotation_statistics(conn: psycopg.Connection[Any], month: date, today: date) -> dict[str, Any]:
    """Copies out on rotation (and deposit) per holding library in `month` (its first
    day): see the module's docstring for what each figure means."""
    first = month.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    # Counted up to the end of the month, or of today if the month is not over.
    until = min(following, today + timedelta(days=1))
    days = max((until - first).days, 0)
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(
            "SELECT library, "
            "coalesce(sum(copies) FILTER (WHERE arrived_on < %(until)s AND "
            "(left_on IS NULL OR left_on >= %(until)s)), 0)::int AS copies_at_month_end, "
            "coalesce(sum(copies * (least(coalesce(left_on, %(until)s), %(until)s) "
            "- greatest(arrived_on, %(first)s))), 0)::int AS copy_days, "
            "count(DISTINCT rotation_id)::int AS rotations "
            "FROM rotation_stays WHERE arrived_on < %(until)s "
            "AND (left_on IS NULL OR left_on > %(first)s) "
            "GROUP BY library ORDER BY library",
            {"first": first, "until": until},
        ).fetchall()
    for row in rows:
        row["average_copies"] = round(row["copy_days"] / days, 2) if days else 0.0
    return {
        "month": first.isoformat()[:7],
        "days_counted": days,
        "libraries": rows,
        "network": {
            "copies_at_month_end": sum(r["copies_at_month_end"] for r in rows),
            "copy_days": sum(r["copy_days"] for r in rows),
        },
    }


def naming(conn: psycopg.Connection[Any], library: str) -> tuple[list[UUID], list[UUID]]:
    """The open transfers and the rotations not completed that name `library` (as a
    party, a home, a stage or where the box is): what a merge or a re-code moves on."""
    transfers = conn.execute(
        "SELECT id FROM transfers WHERE status = ANY(%s) "
        "AND %s IN (sender, receiver, proposed_by) ORDER BY proposed_at",
        (list(OPEN_STATUSES), library),
    ).fetchall()
    rotations = conn.execute(
        "SELECT id FROM rotations WHERE status <> 'completed' AND (%s IN (home, at_library) "
        "OR going_to = %s OR stages @> %s::jsonb) ORDER BY planned_at",
        (library, library, json.dumps([{"library": library}])),
    ).fetchall()
    return [r[0] for r in transfers], [r[0] for r in rotations]
