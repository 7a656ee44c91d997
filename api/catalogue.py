"""The union catalogue as my library sees it: works visible to it, with availability."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query

from api.auth import Authorize
from api.deps import system
from composition.bootstrap import System
from domain.access import Permission, Principal
from projections.catalogue import get_work, search_works

router = APIRouter(prefix="/catalogue", tags=["union catalogue"])
Reader = Annotated[Principal, Depends(Authorize(Permission.CATALOGUE_READ))]


@router.get("/works", summary="Search works visible to my library")
def works(
    sys: Annotated[System, Depends(system)],
    me: Reader,
    q: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[dict[str, Any]]:
    with sys.db.transaction() as conn:
        return search_works(conn, me.work_scope, q, limit)


@router.get("/works/{code}", summary="One work with every library's holdings")
def work(
    code: str,
    sys: Annotated[System, Depends(system)],
    me: Reader,
) -> dict[str, Any]:
    with sys.db.transaction() as conn:
        found = get_work(conn, code, me.work_scope)
    if found is None:
        raise HTTPException(404, f"work {code} is not in the union catalogue")
    return found
