"""The readers' pages of the web UI (issue 21): online registration for a library card
(public: the pending card with its QR code and access key, shown once), and a reader's
own page — proved by the card number and access key in a form, never in a URL — with
their digital loans (return, renew, read), their places on waitlists and the offers
waiting for them (borrow, skip). Each form posts the same commands as the API."""

from __future__ import annotations

import base64
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response

from api.deps import system
from api.i18n import TEXT
from api.ui_forms import refusal
from api.ui_gate import posted
from api.ui_guard import csrf_ok, language
from api.ui_render import redirect, render
from composition.bootstrap import System
from domain.access import ONLINE_REGISTRATION, reader_self
from domain.errors import DomainError
from projections.libraries import list_libraries
from services.commands import MyDigitalShelf, MyDigitalStep, RegisterReader

router = APIRouter(include_in_schema=False)
Field = Annotated[str, Form()]
Optional = Annotated[str | None, Form()]


@router.get("/ui/readers/register")
def registration(request: Request, sys: Annotated[System, Depends(system)]) -> Response:
    with sys.db.transaction() as conn:
        libraries = list_libraries(conn)
    return render(request, "register.html", None, libraries=libraries, card=None)


@router.post("/ui/readers/register")
def register(
    request: Request,
    sys: Annotated[System, Depends(system)],
    form_ok: Annotated[bool, Depends(csrf_ok)],
    home_library: Field,
    name: Field,
    date_of_birth: Field,
    contact: Field,
    guardian_name: Optional = None,
    guardian_contact: Optional = None,
) -> Response:
    lang = language(request)
    posted(request, form_ok, "/ui/readers/register")
    try:
        born = date.fromisoformat(date_of_birth)
        command = RegisterReader(
            home_library=home_library,
            name=name,
            date_of_birth=born,
            contact=contact,
            guardian_name=guardian_name or None,
            guardian_contact=guardian_contact or None,
        )
        card = sys.entry.act(ONLINE_REGISTRATION, command)
    except ValueError:
        return redirect("/ui/readers/register", lang, error=TEXT[lang]["bad_date"])
    except DomainError as exc:
        return redirect("/ui/readers/register", lang, error=refusal(exc, lang))
    qr = base64.b64encode(str(card["card_qr_svg"]).encode()).decode()
    return render(request, "register.html", None, libraries=[], card=card, qr=qr)


@router.get("/ui/me")
def my_page(request: Request) -> Response:
    return render(request, "reader.html", None, shelf=None, proof=None, link=None)


@router.post("/ui/me")
def my_shelf(
    request: Request,
    sys: Annotated[System, Depends(system)],
    form_ok: Annotated[bool, Depends(csrf_ok)],
    reader_ref: Field,
    access_key: Field,
    work: Optional = None,
    action: Optional = None,
) -> Response:
    """The reader's shelf; with `work` and `action`, that step first (its outcome shown)."""
    lang = language(request)
    posted(request, form_ok, "/ui/me")
    ref = reader_ref.strip().upper()
    if not sys.readers.proves(ref, access_key.strip()):
        return redirect("/ui/me", lang, error=TEXT[lang]["wrong_card"])
    caller, done, error, link = reader_self(ref), None, None, None
    if work and action:
        try:
            result: dict[str, Any] = sys.entry.act(caller, MyDigitalStep(ref, work, action))
            done = action
            link = result.get("url") if action == "link" else None
        except DomainError as exc:
            error = refusal(exc, lang)
    shelf = sys.entry.act(caller, MyDigitalShelf(ref))
    proof = {"reader_ref": ref, "access_key": access_key.strip()}
    return render(
        request,
        "reader.html",
        None,
        shelf=shelf,
        proof=proof,
        link=link,
        step_done=done,
        step_error=error,
    )
