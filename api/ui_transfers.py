"""The web UI's transfers of stock: my library's transfers (those waiting for my approval
first when asked), a new transfer, one transfer with its copy lines, parcels, handover
records and timeline, and the steps valid for my side now (approve, reject, cancel,
pick, drop, dispatch by post, receive with damaged and extra copies, close, found)."""

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
from api.ui_forms import barcodes, damaged_lines, parcel_form, refusal
from api.ui_gate import librarian, posted, signed_in
from api.ui_guard import csrf_ok, language
from api.ui_render import redirect, render
from api.ui_timeline import who
from composition.bootstrap import System
from domain.access import Hidden, Permission, Principal, may
from domain.errors import DomainError
from domain.transfer import Reason
from projections.libraries import list_libraries
from projections.shipments import for_request, partner_list
from projections.transfers import transfer_detail, transfer_parties, transfer_queue
from services.commands import ProposeTransfer, TransferStep

router = APIRouter(include_in_schema=False)
Me = Annotated[Principal | None, Depends(ui_principal)]
Sys = Annotated[System, Depends(system)]
FormField = Annotated[str | None, Form()]

# The steps each side may take in each state (the domain decides; this picks the buttons).
STEPS = {
    ("proposed", "sender"): ("approve", "reject", "cancel"),
    ("proposed", "receiver"): ("approve", "reject", "cancel"),
    ("approved", "sender"): ("pick", "drop", "dispatch", "cancel"),
    ("approved", "receiver"): ("cancel",),
    ("in_transit", "receiver"): ("receive", "close", "found"),
    ("in_transit", "sender"): (),
    ("closed", "receiver"): ("found",),
    ("closed", "sender"): ("found",),
}


@router.get("/ui/transfers", response_class=HTMLResponse)
def transfers(request: Request, sys: Sys, me: Me, approve: bool = False) -> Response:
    me, here = librarian(request, me, Permission.TRANSFERS_READ)
    with sys.db.transaction() as conn:
        rows = transfer_queue(conn, here, needs_approval=approve, limit=200)
        libraries = [lib for lib in list_libraries(conn) if lib["code"] != here]
    return render(
        request,
        "transfers.html",
        me,
        rows=rows,
        approve=approve,
        libraries=libraries,
        reasons=[Reason.MANUAL.value, Reason.DEPOSIT.value],
    )


@router.post("/ui/transfers")
def propose(
    request: Request,
    sys: Sys,
    me: Me,
    form_ok: Annotated[bool, Depends(csrf_ok)],
    receiver: Annotated[str, Form()],
    copies: Annotated[str, Form()],
    reason: Annotated[str, Form()] = "manual",
    due_date: FormField = None,
    note: Annotated[str, Form()] = "",
) -> Response:
    lang = language(request)
    posted(request, form_ok, "/ui/transfers")
    me, here = librarian(request, me, page="/ui/transfers")
    listed = barcodes(copies)
    if not listed:
        return redirect("/ui/transfers", lang, error=TEXT[lang]["transfer_needs_copies"])
    try:
        due = date.fromisoformat(due_date) if due_date else None
    except ValueError:
        return redirect("/ui/transfers", lang, error=TEXT[lang]["bad_day"])
    command = ProposeTransfer(
        sender=here,
        receiver=receiver.strip().upper(),
        reason=reason,
        copies=tuple(listed),
        due_date=due,
        note=note.strip(),
    )
    try:
        created = sys.entry.act(me, command)
    except DomainError as exc:
        return redirect("/ui/transfers", lang, error=refusal(exc, lang))
    path = f"/ui/transfers/{created['id']}"
    return redirect(path, lang, done="transfer_proposed", v=str(created["version"]))


def _read(sys: System, transfer_id: UUID, version: int) -> dict[str, Any] | None:
    def read() -> dict[str, Any] | None:
        with sys.db.transaction() as conn:
            return transfer_detail(conn, transfer_id)

    return caught_up(read, version_in, version)


@router.get("/ui/transfers/{transfer_id}", response_class=HTMLResponse)
def one(transfer_id: UUID, request: Request, sys: Sys, me: Me) -> Response:
    lang = language(request)
    me = signed_in(request, me)
    wanted = request.query_params.get("v", "")
    found = _read(sys, transfer_id, int(wanted) if wanted.isdigit() else 0)
    with sys.db.transaction() as conn:
        involved = transfer_parties(conn, transfer_id)
        shipments = for_request(conn, transfer_id)
        partners = partner_list(conn)
    if found is None or may(me, Permission.TRANSFERS_READ, library=involved) is None:
        return redirect("/ui/transfers", lang, error=TEXT[lang]["transfer_not_found"])
    side = {found["sender"]: "sender", found["receiver"]: "receiver"}.get(me.library or "")
    acting = side and may(me, Permission.TRANSFERS_ACT, library=me.library) is not None
    steps = STEPS.get((found["status"], side or ""), ()) if acting else ()
    return render(
        request,
        "transfer.html",
        me,
        tr=found,
        steps=steps,
        shipments=shipments,
        partners=partners,
        by=lambda actor: who(actor, lang),
    )


@router.post("/ui/transfers/{transfer_id}/act")
def act(
    transfer_id: UUID,
    request: Request,
    sys: Sys,
    me: Me,
    form_ok: Annotated[bool, Depends(csrf_ok)],
    action: Annotated[str, Form()],
    reason: FormField = None,
    copies: FormField = None,
    barcode: Annotated[str | None, Form(alias="copy")] = None,
    damaged: FormField = None,
    extras: FormField = None,
    partner: FormField = None,
    waybill: FormField = None,
    weight_grams: FormField = None,
    declared_postage: FormField = None,
) -> Response:
    lang = language(request)
    page = f"/ui/transfers/{transfer_id}"
    posted(request, form_ok, page)
    me = signed_in(request, me, page)
    params: dict[str, Any] = {}
    if reason and reason.strip():
        params["reason"] = reason.strip()
    if barcode and barcode.strip():
        params["copy"] = barcode.strip().upper()
    if copies is not None and barcodes(copies):
        params["copies"] = barcodes(copies)
    if extras is not None and barcodes(extras):
        params["extras"] = barcodes(extras)
    if damaged is not None and damaged.strip():
        params["damaged"] = damaged_lines(damaged)
    if action == "dispatch":
        with sys.db.transaction() as conn:
            picked = transfer_detail(conn, transfer_id) or {"lines": []}
        contents = [x["barcode"] for x in picked["lines"] if x["state"] == "picked"]
        parcel = parcel_form(partner, waybill, weight_grams, declared_postage, None, lang)
        if isinstance(parcel, str):
            return redirect(page, lang, error=parcel)
        if parcel is None:
            return redirect(page, lang, error=TEXT[lang]["parcel_needs_partner"])
        parcel["parcels"][0]["contents"] = contents
        params["shipments"] = [parcel]
    try:
        result = sys.entry.act(me, TransferStep(transfer_id, action=action, params=params))
    except Hidden:
        return redirect("/ui/transfers", lang, error=TEXT[lang]["transfer_not_found"])
    except DomainError as exc:
        return redirect(page, lang, error=refusal(exc, lang))
    return redirect(page, lang, done=f"transfer_{action}", v=str(result["version"]))


@router.get("/ui/transfers/{transfer_id}/handover/{stage}.pdf")
def handover(transfer_id: UUID, stage: str, request: Request, sys: Sys, me: Me) -> Response:
    """The handover record of the dispatch or the receipt, rendered again from the events
    (the same bytes the API gives, checked against the hash the event recorded)."""
    me = signed_in(request, me, f"/ui/transfers/{transfer_id}")
    if stage not in ("dispatch", "receipt"):
        return Response(status_code=404)
    with sys.db.transaction() as conn:
        involved = transfer_parties(conn, transfer_id)
    if not involved or may(me, Permission.TRANSFERS_READ, library=involved) is None:
        return Response(status_code=404)
    try:
        pdf, matches = sys.transfers.handover_record(transfer_id, stage)
    except DomainError:
        return Response(status_code=404)
    headers = {
        "X-Handover-Hash-Matches": str(matches).lower(),
        "X-Content-Type-Options": "nosniff",
        "Content-Disposition": f'inline; filename="handover-{transfer_id}-{stage}.pdf"',
    }
    return Response(pdf, media_type="application/pdf", headers=headers)
