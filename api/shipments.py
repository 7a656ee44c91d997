"""Shipments for librarians and the department: one parcel for several requests, those
in transit (with stuck parcels) and the monthly postage statements with the province's
subsidy, as JSON or CSV."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Query
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, Field

from api.auth import Authorize
from api.deps import system
from api.fields import MONTH, ClientRequestId
from api.requests import Barcode, ShipmentIn
from composition.bootstrap import System
from domain.access import Permission, Principal, decide, may
from domain.errors import InvalidInput
from infra.clock import utc_now
from projections.shipments import as_csv, in_transit, statement
from services.commands import ShipTogether

router = APIRouter(tags=["postal shipments"])
Shipments = Annotated[Principal, Depends(Authorize(Permission.SHIPMENTS_READ))]
Postage = Annotated[Principal, Depends(Authorize(Permission.POSTAGE_READ))]


class Item(BaseModel):
    request_id: UUID
    item_id: Barcode | None = Field(default=None, description="Loaned: the copy's barcode")


class Together(BaseModel):
    """Several requests to one library, their items in one parcel under one waybill."""

    action: Literal["Loaned", "ShippedReturn"]
    items: list[Item] = Field(min_length=1, max_length=500)
    shipment: ShipmentIn
    client_request_id: ClientRequestId | None = None


@router.post("/shipments", status_code=201, summary="One parcel for several requests")
def ship_together(
    body: Together,
    sys: Annotated[System, Depends(system)],
    me: Annotated[Principal, Depends(Authorize(Permission.REQUEST_ACT))],
) -> dict[str, Any]:
    """Each request is Loaned (with its item's barcode) or ShippedReturn, and one shipment
    carries them all; all or nothing. The parcels' contents default to the items."""
    shipment = body.shipment.model_dump(mode="json")
    items = tuple((i.request_id, i.item_id or "") for i in body.items)
    if body.action == "Loaned" and not all(item for _, item in items):
        raise InvalidInput("Loaned: every request needs its item's barcode (item_id)")
    for parcel in shipment["parcels"]:
        parcel["contents"] = parcel["contents"] or [item for _, item in items if item]
    command = ShipTogether(body.action, items, shipment, body.client_request_id)
    return sys.entry.act(me, command)


class CsvResponse(PlainTextResponse):
    media_type = "text/csv"


Month = Annotated[str | None, Query(pattern=MONTH, description="YYYY-MM")]


@router.get("/shipments", summary="My library's shipments in transit; stuck ones flagged")
def shipments_in_transit(
    sys: Annotated[System, Depends(system)],
    me: Shipments,
    stuck_only: bool = False,
    library: Annotated[
        str | None, Query(max_length=32, description="Auditors: whose (default: mine)")
    ] = None,
) -> list[dict[str, Any]]:
    whose = (library or me.library or "").strip().upper()
    decide(me, Permission.SHIPMENTS_READ, library=whose)
    stuck_before = utc_now() - timedelta(days=sys.settings.stuck_after_days)
    with sys.db.transaction() as conn:
        rows = in_transit(conn, whose, stuck_before if stuck_only else None)
        for r in rows:
            r["stuck"] = (r["last_carrier_at"] or r["dispatched_at"]) < stuck_before
    return rows


def _month(month: str | None) -> date:
    return date.fromisoformat(f"{month}-01") if month else utc_now().date().replace(day=1)


@router.get("/postage/statements", summary="Monthly postage and subsidy per library, partner")
def postage_statements(
    sys: Annotated[System, Depends(system)],
    me: Postage,
    month: Month = None,
    library: str | None = None,
    partner: str | None = None,
) -> list[dict[str, Any]]:
    library = _statement_scope(me, library)
    with sys.db.transaction() as conn:
        return statement(conn, _month(month), library, partner)


def _statement_scope(me: Principal, library: str | None) -> str | None:
    """A library administrator sees its own library's statement; the department and
    auditors see any library's, or all."""
    library = library.strip().upper() if library else None
    if library is None and may(me, Permission.POSTAGE_READ) is None:
        library = me.library
    decide(me, Permission.POSTAGE_READ, library=library)
    return library


@router.get(
    "/postage/statements.csv", response_class=CsvResponse, summary="The same statement as CSV"
)
def postage_statements_csv(
    sys: Annotated[System, Depends(system)],
    me: Postage,
    month: Month = None,
    library: str | None = None,
    partner: str | None = None,
) -> CsvResponse:
    library = _statement_scope(me, library)
    with sys.db.transaction() as conn:
        rows = statement(conn, _month(month), library, partner)
    return CsvResponse(as_csv(rows))
