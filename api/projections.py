"""Projections for operators and auditors: lag, parked events, and their replay."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException

from api.auth import Authorize
from api.deps import system
from api.log_health import log_health
from composition.bootstrap import PROJECTIONS, System
from domain.access import Permission, Principal, decide
from projections.dead_letters import parked

router = APIRouter(prefix="/projections", tags=["projections"])
Reader = Annotated[Principal, Depends(Authorize(Permission.PROJECTIONS_READ))]
Operator = Annotated[Principal, Depends(Authorize(Permission.PROJECTIONS_REPLAY))]


def _known(name: str) -> str:
    if name not in PROJECTIONS:
        raise HTTPException(404, f"no projection {name!r}")
    return name


@router.get("", summary="Every projection with its lag and parked events")
def projections(sys: Annotated[System, Depends(system)], _: Reader) -> dict[str, Any]:
    lags = log_health(sys.db, kafka_configured=False, kafka_ok=None).projections
    return {
        name: {"tables": list(cls.tables), "handles": sorted(cls.handles), **lags.get(name, {})}
        for name, cls in PROJECTIONS.items()
    }


@router.get("/{name}/parked", summary="Events parked because they failed to apply")
def parked_events(
    name: str, sys: Annotated[System, Depends(system)], _: Reader, include_replayed: bool = False
) -> list[dict[str, Any]]:
    return parked(sys.db, _known(name), include_replayed=include_replayed)


@router.post("/{name}/parked/replay", summary="Apply the parked events again")
def replay(name: str, sys: Annotated[System, Depends(system)], me: Operator) -> dict[str, int]:
    decide(me, Permission.PROJECTIONS_REPLAY)  # (replaying records no event of its own)
    return sys.replay_parked(_known(name))
