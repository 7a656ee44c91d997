"""The librarians' web UI, rendered on the server from the read models: sign-in, the
libraries, my library's queues, a request with its timeline and the actions valid now.
Vietnamese first (`?lang=en` for English). Forms post to the same application commands
as the API, decided by the same policy; the session is a signed token in a cookie."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response

from api.accounts import LoginThrottled, sign_in
from api.auth import UI_COOKIE, ui_principal
from api.deps import system
from api.i18n import TEXT
from api.read_your_writes import caught_up, version_in
from api.requests import actions_for
from api.ui_forms import parcel_form, parcel_mates, refusal
from api.ui_gate import librarian, posted, signed_in
from api.ui_guard import HEADERS, csrf_ok, language
from api.ui_reasons import reason_text
from api.ui_render import redirect, render
from api.ui_session import back_to, next_of
from api.ui_timeline import sentence, who
from composition.bootstrap import System
from domain.access import Hidden, Permission, Principal, may
from domain.errors import DomainError
from infra.clock import utc_now
from infra.handover_pdf import font_paths
from projections.catalogue import search_works
from projections.dashboard import REQUEST_TILES, library_dashboard
from projections.libraries import list_libraries
from projections.requests import detail, parties, queue
from projections.shipments import for_request, partner_list
from services.commands import RequestItem, ShipTogether, TakeAction

router = APIRouter(include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
def home(
    request: Request,
    sys: Annotated[System, Depends(system)],
    me: Annotated[Principal | None, Depends(ui_principal)],
) -> HTMLResponse:
    with sys.db.transaction() as conn:
        libraries = list_libraries(conn)
    return render(request, "libraries.html", me, libraries=libraries, next=next_of(request))


def _with_lang(page: str, lang: str) -> str:
    return f"{page}{'&' if '?' in page else '?'}lang={lang}"


FONT_STYLES = {"regular": "", "bold": "B", "italic": "I"}


@router.get("/ui/fonts/{style}.ttf")
def font(style: str) -> Response:
    """Be Vietnam Pro, the font with every Vietnamese diacritic, served by us (as the
    handover records embed it): nothing is loaded from outside."""
    if style not in FONT_STYLES:
        raise HTTPException(404, f"no font style {style!r}")
    path = font_paths()[FONT_STYLES[style]]
    headers = {"Cache-Control": "public, max-age=604800", "X-Content-Type-Options": "nosniff"}
    return FileResponse(path, media_type="font/ttf", headers=headers)


@router.post("/ui/login")
def login(
    request: Request,
    sys: Annotated[System, Depends(system)],
    username: Annotated[str, Form()],
    password: Annotated[str, Form()],
    form_ok: Annotated[bool, Depends(csrf_ok)],
    next_page: Annotated[str, Form(alias="next")] = "",
) -> Response:
    lang = language(request)
    back = back_to(next_page)
    if not form_ok:
        return redirect("/", lang, error=TEXT[lang]["form_expired"], next=back)
    try:
        who = sign_in(sys, username, password)
    except LoginThrottled:
        return redirect("/", lang, error=TEXT[lang]["login_throttled"], next=back)
    except HTTPException as exc:
        return redirect("/", lang, error=str(exc.detail), next=back)
    ttl = int(sys.settings.ui_session_hours * 3600)
    token, _ = sys.tokens.issue(who, ttl)
    response = RedirectResponse(_with_lang(back, lang), status_code=303, headers=HEADERS)
    response.set_cookie(
        UI_COOKIE,
        token,
        max_age=ttl,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )
    return response


@router.post("/ui/logout")
def logout(request: Request, form_ok: Annotated[bool, Depends(csrf_ok)]) -> Response:
    if not form_ok:
        return redirect("/", language(request), error=TEXT[language(request)]["form_expired"])
    response = redirect("/", language(request))
    response.delete_cookie(UI_COOKIE)
    return response


@router.get("/ui/requests", response_class=HTMLResponse)
def my_requests(
    request: Request,
    sys: Annotated[System, Depends(system)],
    me: Annotated[Principal | None, Depends(ui_principal)],
) -> Response:
    lang = language(request)
    me = signed_in(request, me)
    if not me.library or may(me, Permission.REQUEST_READ, library=me.library) is None:
        # The auditors' and the department's pages are theirs to start from.
        if may(me, Permission.AUDIT_READ) is not None:
            return redirect("/ui/audit", lang)
        if may(me, Permission.STATISTICS_READ) is not None:
            return redirect("/ui/statistics", lang)
        return redirect("/", lang, error=TEXT[lang]["not_librarian"])
    chosen = request.query_params.get("queue", "")
    now = utc_now()
    with sys.db.transaction() as conn:
        tiles = library_dashboard(conn, me.library, now, sys.settings.stuck_after_days)
        if chosen in REQUEST_TILES:  # one tile's queue
            side, statuses = REQUEST_TILES[chosen]
            mine = queue(conn, me.library, side, list(statuses))
            other = "requester" if side == "supplier" else "supplier"
            tables = [(TEXT[lang][f"tile_{chosen}"], mine, other)]
        else:
            tables = [
                (TEXT[lang]["outgoing"], queue(conn, me.library, "requester"), "supplier"),
                (TEXT[lang]["incoming"], queue(conn, me.library, "supplier"), "requester"),
            ]
        works = search_works(conn, me.work_scope, limit=200)
    return render(
        request,
        "requests.html",
        me,
        tiles=tiles,
        tables=tables,
        chosen=chosen if chosen in REQUEST_TILES else None,
        works=works,
        age=lambda oldest: age_of(oldest, now, lang),
        tile_page=tile_page,
    )


# Where a dashboard tile that is not a queue of requests leads.
TILE_PAGES = {
    "parcels_in_transit": "/ui/parcels",
    "parcels_stuck": "/ui/parcels?stuck=true",
    "transfers_open": "/ui/transfers",
    "transfers_to_approve": "/ui/transfers?approve=true",
    "rotations_overdue": "/ui/rotations?overdue=true",
    "digital_waiting": "/ui/digital",
}


def tile_page(tile: dict[str, Any]) -> str | None:
    if tile["queue"]:
        return f"/ui/requests?queue={tile['key']}"
    return TILE_PAGES.get(tile["key"])


@router.post("/ui/requests")
def new_request(
    request: Request,
    sys: Annotated[System, Depends(system)],
    me: Annotated[Principal | None, Depends(ui_principal)],
    work: Annotated[str, Form()],
    reader_ref: Annotated[str, Form()],
    form_ok: Annotated[bool, Depends(csrf_ok)],
    service_type: Annotated[str, Form()] = "Loan",
) -> Response:
    lang = language(request)
    posted(request, form_ok, "/ui/requests")
    me, _ = librarian(request, me, page="/ui/requests")
    try:
        command = RequestItem(work=work, reader_ref=reader_ref, service_type=service_type)
        created = sys.entry.act(me, command)
    except DomainError as exc:
        return redirect("/ui/requests", lang, error=refusal(exc, lang))
    return redirect(
        f"/ui/requests/{created['id']}", lang, done="Requested", v=str(created["version"])
    )


@router.get("/ui/requests/{request_id}", response_class=HTMLResponse)
def one_request(
    request_id: UUID,
    request: Request,
    sys: Annotated[System, Depends(system)],
    me: Annotated[Principal | None, Depends(ui_principal)],
) -> Response:
    me = signed_in(request, me)
    wanted = request.query_params.get("v", "")
    found = _read_own_write(sys, request_id, int(wanted) if wanted.isdigit() else 0)
    with sys.db.transaction() as conn:
        involved = parties(conn, request_id)
    if found is None or may(me, Permission.REQUEST_READ, library=involved) is None:
        return redirect("/ui/requests", language(request), error=f"{request_id}: not found (yet)")
    actions = actions_for(me, found)
    lang = language(request)
    with sys.db.transaction() as conn:
        shipments = for_request(conn, request_id)
        partners = partner_list(conn)
        mates = _parcel_mates(conn, me, found, actions)
    return render(
        request,
        "request.html",
        me,
        r=found,
        actions=actions,
        shipments=shipments,
        partners=partners,
        mates=mates,
        said=lambda event, data: sentence(event, data, lang),
        by=lambda actor: who(actor, lang),
        why=lambda reason: reason_text(reason, lang),
    )


FormField = Annotated[str | None, Form()]

# What may share a parcel with a request about to go by post: my other requests to the
# same library that are as ready to be lent, or to be sent back.
READY_TO_LEND = ["RequestReceived", "ExpectToSupply", "WillSupply"]
READY_TO_RETURN = ["Received", "Overdue", "Recalled"]


def _parcel_mates(
    conn: Any, me: Principal, found: dict[str, Any], actions: list[str]
) -> list[dict[str, Any]]:
    if not me.library:
        return []
    if "Loaned" in actions:
        rows = queue(conn, me.library, "supplier", READY_TO_LEND)
        other = "requester"
    elif "ShippedReturn" in actions:
        rows = queue(conn, me.library, "requester", READY_TO_RETURN)
        other = "supplier"
    else:
        return []
    return [r for r in rows if r["id"] != found["id"] and r[other] == found[other]][:20]


def age_of(oldest: datetime | date, now: datetime, lang: str) -> str:
    """How long the oldest item of a tile has waited (a due date: how long it is past)."""
    if not isinstance(oldest, datetime):
        return f"{max(0, (now.date() - oldest).days)} {TEXT[lang]['days']}"
    hours = max(0, int((now - oldest).total_seconds() // 3600))
    if hours >= 48:
        return f"{hours // 24} {TEXT[lang]['days']}"
    return f"{hours} {TEXT[lang]['hours']}"


def _read_own_write(sys: System, request_id: UUID, version: int) -> dict[str, Any] | None:
    """After a command, the page it leads to waits briefly for the read model to reach the
    command's own version (read your writes), as the API does, instead of an older state."""

    def read() -> dict[str, Any] | None:
        with sys.db.transaction() as conn:
            return detail(conn, request_id)

    return caught_up(read, version_in, version)


@router.post("/ui/requests/{request_id}/act")
def act(
    request_id: UUID,
    request: Request,
    sys: Annotated[System, Depends(system)],
    me: Annotated[Principal | None, Depends(ui_principal)],
    action: Annotated[str, Form()],
    form_ok: Annotated[bool, Depends(csrf_ok)],
    expected_version: Annotated[int | None, Form()] = None,
    note: FormField = None,
    reason: FormField = None,
    item_id: FormField = None,
    answer: FormField = None,
    condition: FormField = None,
    cost: FormField = None,
    available_on: FormField = None,
    to_request: FormField = None,
    partner: FormField = None,
    waybill: FormField = None,
    weight_grams: FormField = None,
    declared_postage: FormField = None,
    together_ids: Annotated[list[str], Form()] = [],  # noqa: B006 (FastAPI copies it)
    together_items: Annotated[list[str], Form()] = [],  # noqa: B006
    together: Annotated[list[str], Form()] = [],  # noqa: B006
) -> Response:
    lang = language(request)
    posted(request, form_ok, f"/ui/requests/{request_id}")
    me, _ = librarian(request, me, page=f"/ui/requests/{request_id}")
    given = {
        "note": note,
        "reason": reason,
        "item_id": item_id,
        "answer": answer,
        "condition": condition,
        "cost": cost,
        "available_on": available_on,
        "to_request": to_request,
    }
    params: dict[str, Any] = {k: v.strip() for k, v in given.items() if v and v.strip()}
    by_post = parcel_form(partner, waybill, weight_grams, declared_postage, item_id, lang)
    if isinstance(by_post, str):
        return redirect(f"/ui/requests/{request_id}", lang, error=by_post)
    if by_post and action in ("Loaned", "ShippedReturn"):
        params["shipment"] = by_post
    command: Any = TakeAction(request_id, action, params, expected_version=expected_version)
    others = parcel_mates(action, together_ids, together_items, together)
    if isinstance(others, str):
        return redirect(f"/ui/requests/{request_id}", lang, error=TEXT[lang][others])
    if others and not by_post:  # others named for a parcel that has no waybill
        return redirect(
            f"/ui/requests/{request_id}", lang, error=TEXT[lang]["parcel_needs_partner"]
        )
    if others and by_post:  # one parcel for this request and the others ticked
        items = ((request_id, params.get("item_id", "")), *others)
        shipment = dict(by_post)
        shipment["parcels"][0]["contents"] = [i for _, i in items if i]
        command = ShipTogether(action, items, shipment)
    try:
        result = sys.entry.act(me, command)
        if isinstance(command, ShipTogether):  # this request's own version, to read back
            result = {"version": result["versions"][str(request_id)]}
    except Hidden:
        return redirect("/ui/requests", lang, error=f"{request_id}: not found")
    except DomainError as exc:
        return redirect(f"/ui/requests/{request_id}", lang, error=refusal(exc, lang))
    return redirect(f"/ui/requests/{request_id}", lang, done=action, v=str(result["version"]))
