"""Helpers shared by integration tests: load libraries and ship loans through commands,
read models, and whole read-model tables for row-for-row comparisons."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from composition.bootstrap import System, projection_named
from domain.errors import IllegalTransition
from projections.libraries import list_libraries
from services.copies import numbered_barcode
from tests.actors import TESTER


def register_many(system: System, n: int, prefix: str = "T") -> list[str]:
    codes = [f"{prefix}-{i:04d}" for i in range(n)]
    for code in codes:
        system.catalogue.register_library(TESTER, code, f"Thư viện {code}", "school", "Phủ Lý")
    return codes


def libraries(system: System) -> list[dict[str, Any]]:
    with system.db.transaction() as conn:
        return list_libraries(conn)


def seen(system: System, projection: str = "libraries") -> int:
    """Distinct events the projection has passed through (-1: it has no state row)."""
    with system.db.transaction() as conn:
        row = conn.execute(
            "SELECT seen FROM projection_state WHERE projection = %s", (projection,)
        ).fetchone()
    return int(row[0]) if row else -1


def eventually(check: Callable[[], bool], timeout: float = 20.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def read_model_rows(system: System, *projections: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table the named projections own, each table in a total order
    (by the whole row), for comparing a rebuilt read model with the live one."""
    tables = [t for name in projections for t in projection_named(name).tables]
    with system.db.transaction() as conn:
        return {t: conn.execute(f"SELECT * FROM {t} AS r ORDER BY r").fetchall() for t in tables}


def shipment(waybill: str, postage: str, partner: str = "VNPOST") -> dict[str, Any]:
    """The `shipment` parameter of a Loaned or ShippedReturn action: one parcel."""
    return {
        "partner": partner,
        "waybill": waybill,
        "declared_postage": postage,
        "parcels": [{"weight_grams": 700, "contents": [waybill]}],
    }


def ship_loan(
    system: System, requester: str, work: str, waybill: str, postage: str, partner: str = "VNPOST"
) -> dict[str, Any]:
    """`requester` asks for `work`; the chosen supplier lends it and posts it with
    `partner` (one Loaned action, one Dispatched shipment). Returns the request summary.
    The catalogue read model must be current: routing reads it."""
    now = datetime.now(UTC)
    created = system.requests.request_item(
        TESTER, requester=requester, work=work, reader_ref="BD-0042", now=now
    )
    supplier = created["supplier"]
    assert supplier, f"no supplier for {work}: {created}"
    return lend(
        system,
        UUID(str(created["id"])),
        supplier,
        work,
        now,
        shipment=shipment(waybill, postage, partner),
    )


def lend(
    system: System, rid: UUID, supplier: str, work: str, now: datetime, **params: Any
) -> dict[str, Any]:
    """ISO Loaned with the first of the supplier's numbered copies of `work` that is on
    its shelf (the demo's copies: services/copies.py numbered_barcode)."""
    for n in range(1, 21):
        try:
            return system.requests.take_action(
                TESTER,
                rid,
                library=supplier,
                action="Loaned",
                params={"item_id": numbered_barcode(supplier, work, n), **params},
                now=now,
            )
        except IllegalTransition as exc:
            if "not on a shelf" not in exc.detail:
                raise
    raise AssertionError(f"{supplier} has no copy of {work} on its shelf")


def ship_return(
    system: System, request_id: Any, requester: str, waybill: str, postage: str
) -> dict[str, Any]:
    """The requester confirms receipt, then posts the item back to the supplier."""
    now, rid = datetime.now(UTC), UUID(str(request_id))
    system.requests.take_action(
        TESTER, rid, library=requester, action="Received", params={}, now=now
    )
    return system.requests.take_action(
        TESTER,
        rid,
        library=requester,
        action="ShippedReturn",
        params={"shipment": shipment(waybill, postage)},
        now=now,
    )


def carrier_update(
    system: System, event_id: str, waybill: str, status: str, at: datetime, **extra: str
) -> None:
    """One carrier update from the VNPOST webhook, recorded (or found a duplicate)."""
    item = {"carrier_event_id": event_id, "waybill": waybill, "status": status, **extra}
    (result,) = system.shipments.record_carrier_events(
        TESTER, "VNPOST", [{**item, "at": at.isoformat()}]
    )
    assert result["result"] in ("accepted", "duplicate"), result
