"""The union catalogue as my library sees it: works visible to it, with availability."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query

from api.auth import Authorize
from api.deps import system
from composition.bootstrap import System
from domain.access import Permission, Principal
from domain.catalogue import ItemKind
from projections.catalogue import get_work
from projections.catalogue_search import records_of, search

router = APIRouter(prefix="/catalogue", tags=["union catalogue"])
Reader = Annotated[Principal, Depends(Authorize(Permission.CATALOGUE_READ))]


@router.get("/works", summary="Search works visible to my library")
def works(
    sys: Annotated[System, Depends(system)],
    me: Reader,
    q: Annotated[
        str | None,
        Query(
            max_length=200,
            description="Words of the title, author, ISBN or original script; tones are "
            "optional (truyen kieu finds Truyện Kiều), exact-tone matches come first",
        ),
    ] = None,
    library: Annotated[
        str | None, Query(max_length=40, description="Only works this library holds")
    ] = None,
    available: Annotated[
        bool | None, Query(description="Only works with (true) or without (false) a copy to lend")
    ] = None,
    kind: Annotated[ItemKind | None, Query(description="Only works of this kind")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
) -> list[dict[str, Any]]:
    with sys.db.transaction() as conn:
        return search(
            conn,
            me.work_scope,
            q,
            library=library,
            available=available,
            kind=kind.value if kind else None,
            limit=limit,
            offset=offset,
        )


@router.get("/works/{code}", summary="One work with every library's holdings")
def work(
    code: str,
    sys: Annotated[System, Depends(system)],
    me: Reader,
) -> dict[str, Any]:
    with sys.db.transaction() as conn:
        found = get_work(conn, code, me.work_scope)
        if found is not None:  # the libraries' MARC records of it, each with its rule
            found["records"] = records_of(conn, found["code"])
    if found is None:
        raise HTTPException(404, f"work {code} is not in the union catalogue")
    return found
