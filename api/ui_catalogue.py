"""The union catalogue in the web UI (issue 21): search as Vietnamese people type
(without tones, decomposed input; exact-tone matches first: ADR 0025), filter by what is
available and by kind, see each result's availability per library, and request it for a
reader from the result (the same form and command as the requests page)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from api.auth import ui_principal
from api.deps import system
from api.ui_gate import librarian
from api.ui_render import render
from composition.bootstrap import System
from domain.access import Permission, Principal
from domain.catalogue import ItemKind
from projections.catalogue import get_work
from projections.catalogue_search import search

router = APIRouter(include_in_schema=False)
PAGE = 20


@router.get("/ui/catalogue")
def catalogue(
    request: Request,
    sys: Annotated[System, Depends(system)],
    me: Annotated[Principal | None, Depends(ui_principal)],
    q: Annotated[str, Query(max_length=200)] = "",
    available: Annotated[bool, Query()] = False,
    kind_asked: Annotated[str, Query(alias="kind", max_length=40)] = "",
    offset: Annotated[int, Query(ge=0, le=10_000)] = 0,
) -> Response:
    me, _ = librarian(request, me, Permission.REQUEST_READ)
    # "any kind" is the form's empty choice; a kind we do not know is no filter either
    kind = ItemKind(kind_asked) if kind_asked in {k.value for k in ItemKind} else None
    results: list[dict[str, Any]] = []
    with sys.db.transaction() as conn:
        if q.strip():
            found = search(
                conn,
                me.work_scope,
                q,
                available=True if available else None,
                kind=kind.value if kind else None,
                limit=PAGE + 1,
                offset=offset,
            )
            for hit in found[:PAGE]:
                work = get_work(conn, hit["code"], me.work_scope) or {}
                holders = [h for h in work.get("holdings", []) if h["copies"] or h["available"]]
                results.append({**hit, "libraries": holders})
        more = q.strip() and len(found) > PAGE
    return render(
        request,
        "catalogue.html",
        me,
        q=q,
        available=available,
        kind=kind.value if kind else "",
        kinds=[k.value for k in ItemKind],
        results=results,
        offset=offset,
        next_offset=offset + PAGE if more else None,
    )
