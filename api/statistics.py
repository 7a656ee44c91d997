"""Statistics for the department: a month per library and for the whole network."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from api.auth import Authorize
from api.deps import system
from api.fields import MONTH
from composition.bootstrap import System
from domain.access import Permission, Principal
from infra.clock import utc_now
from projections.statistics import monthly
from projections.transfers import rotation_statistics

router = APIRouter(prefix="/statistics", tags=["statistics"])


@router.get("/monthly", summary="Requests, fill rate, turnaround and postage for a month")
def monthly_statistics(
    sys: Annotated[System, Depends(system)],
    _: Annotated[Principal, Depends(Authorize(Permission.STATISTICS_READ))],
    month: Annotated[
        str | None,
        Query(pattern=MONTH, description="YYYY-MM; this month by default"),
    ] = None,
) -> dict[str, Any]:
    first = date.fromisoformat(f"{month}-01") if month else utc_now().date().replace(day=1)
    with sys.db.transaction() as conn:
        return monthly(conn, first, stuck_after_days=sys.settings.stuck_after_days, now=utc_now())


@router.get("/rotations", summary="Copies out on rotation and deposit per library, for a month")
def rotation_statistics_of_month(
    sys: Annotated[System, Depends(system)],
    _: Annotated[Principal, Depends(Authorize(Permission.STATISTICS_READ))],
    month: Annotated[
        str | None,
        Query(pattern=MONTH, description="YYYY-MM; this month by default"),
    ] = None,
) -> dict[str, Any]:
    """Per holding library: `copies_at_month_end` (copies of boxes there at the end of
    the month, or today), `copy_days` (copies x days there within the month),
    `average_copies` (copy_days / days counted), `rotations` (boxes that stayed there).
    A box is at a library from the day it signed the receipt until the next library (or
    its home) signs for it (projections/transfers.py)."""
    today = sys.entry.clock().date()
    first = date.fromisoformat(f"{month}-01") if month else today.replace(day=1)
    with sys.db.transaction() as conn:
        return rotation_statistics(conn, first, today)
