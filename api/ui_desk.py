"""The web UI's desk: the cards registered online at my library and waiting for the
reader to come in (the verification queue), and one card with the reader's personal data
(shown to the desk only) and its steps: a guardian's consent for a minor, activation once
the identity document is sighted (no image is taken), renewal, suspension, reinstatement."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response

from api.auth import ui_principal
from api.deps import system
from api.i18n import TEXT
from api.ui_forms import refusal
from api.ui_gate import librarian, posted, signed_in
from api.ui_guard import csrf_ok, language
from api.ui_render import redirect, render
from composition.bootstrap import System
from domain.access import Permission, Principal
from domain.errors import DomainError
from domain.reader import IDENTITY_METHODS
from projections.readers import cards_of
from services.commands import CardStep, ShowReader

router = APIRouter(include_in_schema=False)
Me = Annotated[Principal | None, Depends(ui_principal)]
Sys = Annotated[System, Depends(system)]
STATUSES = ("pending", "active", "suspended")


@router.get("/ui/desk", response_class=HTMLResponse)
def queue(request: Request, sys: Sys, me: Me, status: str = "pending") -> Response:
    me, here = librarian(request, me, Permission.READERS_READ)
    chosen = status if status in STATUSES else "pending"
    with sys.db.transaction() as conn:
        cards = cards_of(conn, here, chosen)
    return render(request, "desk.html", me, cards=cards, chosen=chosen, statuses=STATUSES)


@router.get("/ui/desk/{reader_ref}", response_class=HTMLResponse)
def card(reader_ref: str, request: Request, sys: Sys, me: Me) -> Response:
    lang = language(request)
    me = signed_in(request, me)
    try:
        found: dict[str, Any] = sys.entry.act(me, ShowReader(reader_ref=reader_ref.upper()))
    except DomainError as exc:
        return redirect("/ui/desk", lang, error=refusal(exc, lang))
    methods = sorted(IDENTITY_METHODS)
    return render(request, "desk_card.html", me, card=found, methods=methods)


@router.post("/ui/desk/{reader_ref}/{action}")
def step(
    reader_ref: str,
    action: str,
    request: Request,
    sys: Sys,
    me: Me,
    form_ok: Annotated[bool, Depends(csrf_ok)],
    method: Annotated[str | None, Form()] = None,
    fee_paid: Annotated[str | None, Form()] = None,
    name: Annotated[str | None, Form()] = None,
    contact: Annotated[str | None, Form()] = None,
    reason: Annotated[str | None, Form()] = None,
) -> Response:
    lang = language(request)
    page = f"/ui/desk/{reader_ref.upper()}"
    posted(request, form_ok, page)
    me = signed_in(request, me, page)
    params: dict[str, Any] = {
        k: v.strip()
        for k, v in {"method": method, "name": name, "contact": contact, "reason": reason}.items()
        if v and v.strip()
    }
    if fee_paid and fee_paid.strip():
        digits = fee_paid.strip().replace(".", "").replace(",", "")
        if not digits.isdigit() or int(digits) > 10_000_000:
            return redirect(page, lang, error=TEXT[lang]["desk_bad_fee"])
        params["fee_paid"] = int(digits)
    command = CardStep(reader_ref=reader_ref.upper(), action=action, params=params)
    try:
        sys.entry.act(me, command)
    except DomainError as exc:
        return redirect(page, lang, error=refusal(exc, lang))
    return redirect(page, lang, done=f"desk_{action}")
