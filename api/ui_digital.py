"""The web UI's digital lending for librarians: the network's digitised works with their
free copies and waitlists, and one work's pool: lend a copy to a reader of my library,
put one on the waitlist, and return, renew or open a viewer link for my readers' loans
(others' readers show only as places in the queue)."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response

from api.auth import ui_principal
from api.deps import system
from api.i18n import TEXT
from api.read_your_writes import caught_up, version_in
from api.ui_forms import refusal
from api.ui_gate import librarian, posted, signed_in
from api.ui_guard import csrf_ok, language
from api.ui_render import redirect, render
from composition.bootstrap import System
from domain.access import Permission, Principal, may
from domain.digital_terms import ReaderType
from domain.errors import DomainError
from projections.digital import pool_detail, pool_list
from services.commands import (
    BorrowDigital,
    DigitalHoldStep,
    DigitalLoanStep,
    IssueViewerLink,
    PlaceDigitalHold,
)

router = APIRouter(include_in_schema=False)
Me = Annotated[Principal | None, Depends(ui_principal)]
Sys = Annotated[System, Depends(system)]
READER_TYPES = [r.value for r in ReaderType]


def _librarian(me: Principal) -> bool:
    return bool(me.library and may(me, Permission.DIGITAL_LEND, library=me.library))


def _pools(sys: System, me: Principal) -> list[dict[str, Any]]:
    with sys.db.transaction() as conn:
        rows = pool_list(conn)
    return [r for r in rows if sys.digital.visible(r["work"], me.work_scope)]


@router.get("/ui/digital", response_class=HTMLResponse)
def works(request: Request, sys: Sys, me: Me) -> Response:
    me, _ = librarian(request, me, Permission.DIGITAL_LEND)
    return render(request, "digital.html", me, pools=_pools(sys, me))


@router.get("/ui/digital/{work}", response_class=HTMLResponse)
def pool(work: str, request: Request, sys: Sys, me: Me) -> Response:
    lang = language(request)
    me = signed_in(request, me)
    code = work.upper()
    if not _librarian(me) or not sys.digital.visible(code, me.work_scope):
        return redirect("/ui/digital", lang, error=TEXT[lang]["digital_not_found"])
    wanted = request.query_params.get("v", "")

    def read() -> dict[str, Any] | None:
        with sys.db.transaction() as conn:
            return pool_detail(conn, code, me.library)

    found = caught_up(read, version_in, int(wanted) if wanted.isdigit() else 0)
    if found is None:
        return redirect("/ui/digital", lang, error=TEXT[lang]["digital_not_found"])
    link = request.query_params.get("link")
    return render(
        request,
        "digital_pool.html",
        me,
        pool=found,
        reader_types=READER_TYPES,
        link=link if link and link.startswith("/viewer/") else None,  # ours only
    )


def _act(request: Request, sys: System, me: Principal | None, work: str, command: Any) -> Response:
    lang = language(request)
    page = f"/ui/digital/{work.upper()}"
    me = signed_in(request, me, page)
    try:
        result = sys.entry.act(me, command)
    except DomainError as exc:
        return redirect(page, lang, error=refusal(exc, lang))
    params = {"done": f"digital_{type(command).__name__}"}
    if "version" in result:
        params["v"] = str(result["version"])
    if result.get("url"):
        params["link"] = str(result["url"])
    return redirect(page, lang, **params)


@router.post("/ui/digital/{work}/lend")
def lend(
    work: str,
    request: Request,
    sys: Sys,
    me: Me,
    form_ok: Annotated[bool, Depends(csrf_ok)],
    reader_ref: Annotated[str, Form()],
    reader_type: Annotated[str, Form()] = "adult",
    wait: Annotated[str | None, Form()] = None,
) -> Response:
    posted(request, form_ok, f"/ui/digital/{work.upper()}")
    kind = PlaceDigitalHold if wait else BorrowDigital
    command = kind(work.upper(), reader_ref.strip().upper(), reader_type)
    return _act(request, sys, me, work, command)


@router.post("/ui/digital/{work}/loans/{loan_id}/{action}")
def loan_step(
    work: str,
    loan_id: UUID,
    action: str,
    request: Request,
    sys: Sys,
    me: Me,
    form_ok: Annotated[bool, Depends(csrf_ok)],
) -> Response:
    posted(request, form_ok, f"/ui/digital/{work.upper()}")
    if action == "link":
        command: Any = IssueViewerLink(work.upper(), str(loan_id))
    else:
        command = DigitalLoanStep(work.upper(), str(loan_id), action)
    return _act(request, sys, me, work, command)


@router.post("/ui/digital/{work}/holds/{reader_ref}/{action}")
def hold_step(
    work: str,
    reader_ref: str,
    action: str,
    request: Request,
    sys: Sys,
    me: Me,
    form_ok: Annotated[bool, Depends(csrf_ok)],
) -> Response:
    posted(request, form_ok, f"/ui/digital/{work.upper()}")
    command = DigitalHoldStep(work.upper(), reader_ref.upper(), action)
    return _act(request, sys, me, work, command)
