"""Statistics for the department: a month per library and for the whole network."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from api.auth import Authorize
from api.deps import system
from api.fields import MONTH
from composition.bootstrap import System
from domain.access import Permission, Principal
from domain.errors import InvalidInput
from infra.clock import utc_now
from projections.readers import reader_statistics
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
    structure: Annotated[
        str | None,
        Query(
            pattern=STRUCTURE,
            description="Group by the network as it was: `then` (the month's last day), "
            "`now` (today) or a day YYYY-MM-DD; by default as recorded",
        ),
    ] = None,
) -> dict[str, Any]:
    today = utc_now().date()
    first = date.fromisoformat(f"{month}-01") if month else today.replace(day=1)
    with sys.db.transaction() as conn:
        return monthly(
            conn,
            first,
            stuck_after_days=sys.settings.stuck_after_days,
            now=utc_now(),
            structure=_structure_day(structure, first, today),
        )


STRUCTURE = r"^(then|now|(19|20)[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01]))$"


def _structure_day(structure: str | None, first: date, today: date) -> date | None:
    """The day whose network structure groups the month (None: as recorded)."""
    if structure is None:
        return None
    if structure == "now":
        return today
    if structure == "then":
        return (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    try:
        return date.fromisoformat(structure)
    except ValueError:
        raise InvalidInput(f"structure {structure!r} is not a day") from None


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


@router.get("/readers", summary="Cards registered per library and age band; cards by status")
def readers_statistics(
    sys: Annotated[System, Depends(system)],
    _: Annotated[Principal, Depends(Authorize(Permission.STATISTICS_READ))],
) -> dict[str, Any]:
    with sys.db.transaction() as conn:
        return reader_statistics(conn)
