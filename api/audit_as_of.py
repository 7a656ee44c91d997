"""The auditors' view of the network as of an instant (ADR 0027), read-only: the union
catalogue, a library's request queues and a month's statistics as they stood at
`as_of` (the read models replayed up to it, projections/as_of.py), and any aggregate at
a version or an instant."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Query

from api.audit import Auditor
from api.deps import system
from api.fields import MONTH
from composition.bootstrap import PROJECTIONS, System, projection_named
from domain.errors import InvalidInput, NotFound
from infra.aggregate_as_of import state_at, version_at
from infra.clock import utc_now
from projections.as_of import build, reading
from projections.catalogue_search import search
from projections.requests import queue
from projections.statistics import monthly

router = APIRouter(prefix="/audit/as-of", tags=["audit"])
AsOf = Annotated[
    datetime, Query(description="The instant, ISO 8601 with its offset, e.g. 2026-03-31T17:00Z")
]


def _instant(as_of: datetime) -> datetime:
    instant = as_of if as_of.tzinfo else as_of.replace(tzinfo=UTC)
    if instant > utc_now():
        raise InvalidInput("as_of is in the future")
    return instant


def _schema(sys: System, as_of: datetime) -> str:
    return build(
        sys.db, sys.app.mapper, projection_named, list(PROJECTIONS), _instant(as_of), utc_now()
    )


@router.get("/catalogue/works", summary="The union catalogue as it stood at an instant")
def works_as_of(
    sys: Annotated[System, Depends(system)],
    _: Auditor,
    as_of: AsOf,
    q: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[dict[str, Any]]:
    with reading(sys.db, _schema(sys, as_of)) as conn:
        return search(conn, None, q, limit=limit)


@router.get("/requests", summary="A library's request queue as it stood at an instant")
def queue_as_of(
    sys: Annotated[System, Depends(system)],
    _: Auditor,
    as_of: AsOf,
    library: Annotated[str, Query(min_length=1, max_length=32)],
    role: Annotated[Literal["requester", "supplier"], Query()] = "requester",
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[dict[str, Any]]:
    with reading(sys.db, _schema(sys, as_of)) as conn:
        return queue(conn, library.strip().upper(), role, None, limit, 0)


@router.get("/statistics/monthly", summary="A month's statistics as they stood at an instant")
def statistics_as_of(
    sys: Annotated[System, Depends(system)],
    _: Auditor,
    as_of: AsOf,
    month: Annotated[str | None, Query(pattern=MONTH, description="YYYY-MM; as_of's month")] = None,
) -> dict[str, Any]:
    instant = _instant(as_of)
    first = date.fromisoformat(f"{month}-01") if month else instant.date().replace(day=1)
    with reading(sys.db, _schema(sys, instant)) as conn:
        return monthly(conn, first, stuck_after_days=sys.settings.stuck_after_days, now=instant)


@router.get("/aggregates/{aggregate_id}", summary="An aggregate at a version or an instant")
def aggregate_as_of(
    aggregate_id: UUID,
    sys: Annotated[System, Depends(system)],
    _: Auditor,
    version: Annotated[int | None, Query(ge=1)] = None,
    as_of: Annotated[datetime | None, Query(description="The instant (or give version)")] = None,
) -> dict[str, Any]:
    if (version is None) == (as_of is None):
        raise InvalidInput("give either version or as_of")
    if as_of is not None:
        with sys.db.transaction() as conn:
            version = version_at(conn, aggregate_id, _instant(as_of))
    found = state_at(sys.app, aggregate_id, version) if version else None
    if found is None or (version and found["version"] != version):
        raise NotFound(f"aggregate {aggregate_id} has no such version (or none at that instant)")
    return found
