"""A library's dashboard (issue 21): what waits for it, each a count with its oldest
item, read from the read models in one transaction — requests to answer, to ship, to
receive, to return, to check in, waiting on others, overdue; parcels in transit and
stuck; open transfers and those awaiting its approval; rotation boxes overdue; readers
on its digital waitlists. The request tiles name the queue the web UI filters by."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import psycopg

from projections.shipments import in_transit
from projections.transfers import overdue_rotations, transfer_queue

# tile -> (the library's side of the request, the statuses it counts)
REQUEST_TILES: dict[str, tuple[str, tuple[str, ...]]] = {
    "to_answer": ("supplier", ("RequestReceived", "ExpectToSupply", "CancelPending")),
    "to_ship": ("supplier", ("WillSupply",)),
    "conditions_to_answer": ("requester", ("RetryPossible",)),
    "to_receive": ("requester", ("Loaned",)),
    "to_return": ("requester", ("Received", "Recalled", "Overdue")),
    "to_check_in": ("supplier", ("ShippedReturn",)),
    "overdue_lent": ("supplier", ("Overdue",)),
    "waiting_on_others": (
        "requester",
        ("RequestReceived", "ExpectToSupply", "WillSupply", "CancelPending"),
    ),
}


# The tiles after the request queues', in their order.
OTHER_TILES = (
    "parcels_in_transit",
    "parcels_stuck",
    "transfers_open",
    "transfers_to_approve",
    "rotations_overdue",
    "digital_waiting",
)


def _tile(key: str, count: int, oldest: datetime | date | None, queue: bool) -> dict[str, Any]:
    return {"key": key, "count": count, "oldest": oldest, "queue": queue}


def library_dashboard(
    conn: psycopg.Connection[Any], library: str, now: datetime, stuck_after_days: int
) -> list[dict[str, Any]]:
    """The tiles of `library`'s dashboard, in the order a librarian works them."""
    parts = []
    params: dict[str, Any] = {"library": library}
    for key, (side, statuses) in REQUEST_TILES.items():
        params[key] = list(statuses)
        where = f"r.{side} = %(library)s AND r.status = ANY(%({key})s)"
        parts.append(f"count(*) FILTER (WHERE {where}), min(r.updated_at) FILTER (WHERE {where})")
    row = conn.execute(
        f"SELECT {', '.join(parts)} FROM ill_requests r "
        "WHERE r.requester = %(library)s OR r.supplier = %(library)s",
        params,
    ).fetchone()
    values = list(row or [0, None] * len(REQUEST_TILES))
    tiles = [
        _tile(key, int(values[2 * i] or 0), values[2 * i + 1], True)
        for i, key in enumerate(REQUEST_TILES)
    ]
    moving = in_transit(conn, library)
    stuck = in_transit(conn, library, now - timedelta(days=stuck_after_days))
    transfers = transfer_queue(conn, library, open_only=True, limit=10_000)
    approvals = [t for t in transfers if t["needs_my_approval"]]
    boxes = overdue_rotations(conn, library, now.date())
    waiting = conn.execute(
        "SELECT count(*), min(h.placed_at) FROM digital_holds h JOIN digital_pools p "
        "USING (pool_id) WHERE p.library = %s",
        (library,),
    ).fetchone() or (0, None)
    others = {
        "parcels_in_transit": (len(moving), _first(moving, "dispatched_at")),
        "parcels_stuck": (len(stuck), _first(stuck, "dispatched_at")),
        "transfers_open": (len(transfers), _first(transfers, "updated_at")),
        "transfers_to_approve": (len(approvals), _first(approvals, "proposed_at")),
        "rotations_overdue": (len(boxes), _first(boxes, "due_date")),
        "digital_waiting": (int(waiting[0] or 0), waiting[1]),
    }
    return [*tiles, *(_tile(key, *others[key], False) for key in OTHER_TILES)]


def _first(rows: list[dict[str, Any]], column: str) -> Any:
    found = [r[column] for r in rows if r.get(column) is not None]
    return min(found) if found else None
