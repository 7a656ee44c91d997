"""The web UI's rotating collections: my library's boxes (as home or holder; the overdue
first), planning one, and one box with its stages, stays and transfers, and the steps:
send it on (advance), recall it, extend its stay."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response

from api.auth import ui_principal
from api.deps import system
from api.i18n import TEXT
from api.read_your_writes import caught_up, version_in
from api.ui_forms import barcodes, refusal
from api.ui_gate import librarian, posted, signed_in
from api.ui_guard import csrf_ok, language
from api.ui_render import redirect, render
from composition.bootstrap import System
from domain.access import Hidden, Permission, Principal, may
from domain.errors import DomainError
from projections.libraries import list_libraries
from projections.transfers import rotation_detail, rotation_parties, rotations_of
from services.commands import PlanRotation, RotationStep

router = APIRouter(include_in_schema=False)
Me = Annotated[Principal | None, Depends(ui_principal)]
Sys = Annotated[System, Depends(system)]


def today(sys: System) -> date:
    return sys.entry.clock().date()


@router.get("/ui/rotations", response_class=HTMLResponse)
def rotations(request: Request, sys: Sys, me: Me, overdue: bool = False) -> Response:
    me, here = librarian(request, me, Permission.TRANSFERS_READ)
    with sys.db.transaction() as conn:
        rows = rotations_of(conn, here, today(sys), overdue_only=overdue)
        libraries = [lib for lib in list_libraries(conn) if lib["code"] != here]
    return render(request, "rotations.html", me, rows=rows, overdue=overdue, libraries=libraries)


def stages_of(text: str) -> list[tuple[str, int]] | None:
    """Stages, one per line: a library's code and the days the box stays there."""
    out = []
    for row in text.splitlines():
        words = row.replace(",", " ").split()
        if not words:
            continue
        if len(words) != 2 or not words[1].isdigit():
            return None
        out.append((words[0].upper(), int(words[1])))
    return out or None


@router.post("/ui/rotations")
def plan(
    request: Request,
    sys: Sys,
    me: Me,
    form_ok: Annotated[bool, Depends(csrf_ok)],
    name: Annotated[str, Form()],
    copies: Annotated[str, Form()],
    stages: Annotated[str, Form()],
    cyclical: Annotated[str | None, Form()] = None,
) -> Response:
    lang = language(request)
    posted(request, form_ok, "/ui/rotations")
    me = signed_in(request, me, "/ui/rotations")
    planned = stages_of(stages)
    if planned is None:
        return redirect("/ui/rotations", lang, error=TEXT[lang]["rotation_bad_stages"])
    listed = barcodes(copies)
    if not listed:
        return redirect("/ui/rotations", lang, error=TEXT[lang]["transfer_needs_copies"])
    command = PlanRotation(
        name=name.strip(), copies=tuple(listed), stages=tuple(planned), cyclical=bool(cyclical)
    )
    try:
        created = sys.entry.act(me, command)
    except DomainError as exc:
        return redirect("/ui/rotations", lang, error=refusal(exc, lang))
    path = f"/ui/rotations/{created['id']}"
    return redirect(path, lang, done="rotation_planned", v=str(created["version"]))


@router.get("/ui/rotations/{rotation_id}", response_class=HTMLResponse)
def one(rotation_id: UUID, request: Request, sys: Sys, me: Me) -> Response:
    lang = language(request)
    me = signed_in(request, me)
    wanted = request.query_params.get("v", "")

    def read() -> dict[str, Any] | None:
        with sys.db.transaction() as conn:
            return rotation_detail(conn, rotation_id, today(sys))

    found = caught_up(read, version_in, int(wanted) if wanted.isdigit() else 0)
    with sys.db.transaction() as conn:
        involved = rotation_parties(conn, rotation_id)
    if found is None or may(me, Permission.TRANSFERS_READ, library=involved) is None:
        return redirect("/ui/rotations", lang, error=TEXT[lang]["rotation_not_found"])
    manages = may(me, Permission.ROTATIONS_MANAGE, library=me.library) is not None
    steps: tuple[str, ...] = ()
    if manages and found["status"] != "completed":
        if me.library == found["home"]:
            steps = ("advance", "recall", "extend")
        elif me.library == found["at_library"]:
            steps = ("advance", "extend")
    return render(request, "rotation.html", me, ro=found, steps=steps)


@router.post("/ui/rotations/{rotation_id}/act")
def act(
    rotation_id: UUID,
    request: Request,
    sys: Sys,
    me: Me,
    form_ok: Annotated[bool, Depends(csrf_ok)],
    action: Annotated[str, Form()],
    due_date: Annotated[str | None, Form()] = None,
    reason: Annotated[str | None, Form()] = None,
) -> Response:
    lang = language(request)
    page = f"/ui/rotations/{rotation_id}"
    posted(request, form_ok, page)
    me = signed_in(request, me, page)
    params: dict[str, Any] = {}
    if due_date:
        try:
            params["due_date"] = date.fromisoformat(due_date)
        except ValueError:
            return redirect(page, lang, error=TEXT[lang]["bad_day"])
    if reason and reason.strip():
        params["reason"] = reason.strip()
    try:
        result = sys.entry.act(me, RotationStep(rotation_id, action=action, params=params))
    except Hidden:
        return redirect("/ui/rotations", lang, error=TEXT[lang]["rotation_not_found"])
    except DomainError as exc:
        return redirect(page, lang, error=refusal(exc, lang))
    if result.get("transfer_id"):  # the box's transfer, where the sending is done
        target = f"/ui/transfers/{result['transfer_id']}"
        return redirect(target, lang, done=f"rotation_{action}", v="1")  # the new transfer
    return redirect(page, lang, done=f"rotation_{action}", v=str(result["version"]))
