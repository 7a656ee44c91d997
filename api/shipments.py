"""Shipments for librarians and the department: in transit (with stuck parcels) and the
monthly postage statements with the province's subsidy, as JSON or CSV."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import PlainTextResponse

from api.deps import system
from api.identity import Acting, acting_library
from projections.shipments import as_csv, in_transit, statement
from workers.bootstrap import System
from workers.timers import utc_now

router = APIRouter(tags=["postal shipments"])
Month = Annotated[str | None, Query(pattern=r"^\d{4}-(0[1-9]|1[0-2])$", description="YYYY-MM")]


@router.get("/shipments", summary="My library's shipments in transit; stuck ones flagged")
def shipments_in_transit(
    sys: Annotated[System, Depends(system)],
    me: Annotated[Acting, Depends(acting_library)],
    stuck_only: bool = False,
) -> list[dict[str, Any]]:
    stuck_before = utc_now() - timedelta(days=sys.settings.stuck_after_days)
    with sys.db.transaction() as conn:
        rows = in_transit(conn, me.library, stuck_before if stuck_only else None)
        for r in rows:
            r["stuck"] = (r["last_carrier_at"] or r["dispatched_at"]) < stuck_before
    return rows


def _month(month: str | None) -> date:
    return date.fromisoformat(f"{month}-01") if month else utc_now().date().replace(day=1)


@router.get("/postage/statements", summary="Monthly postage and subsidy per library, partner")
def postage_statements(
    sys: Annotated[System, Depends(system)],
    month: Month = None,
    library: str | None = None,
    partner: str | None = None,
) -> list[dict[str, Any]]:
    with sys.db.transaction() as conn:
        return statement(conn, _month(month), library, partner)


@router.get(
    "/postage/statements.csv", response_class=PlainTextResponse, summary="The same statement as CSV"
)
def postage_statements_csv(
    sys: Annotated[System, Depends(system)],
    month: Month = None,
    library: str | None = None,
    partner: str | None = None,
) -> PlainTextResponse:
    with sys.db.transaction() as conn:
        rows = statement(conn, _month(month), library, partner)
    return PlainTextResponse(as_csv(rows), media_type="text/csv; charset=utf-8")
