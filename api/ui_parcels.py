"""The web UI's parcels: my library's parcels in transit (the stuck ones flagged), one
parcel with the carrier's events in order, and its packing slip with the handover record,
printed from the browser (print CSS), the waybill drawn as a Code 128 barcode."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from api.auth import ui_principal
from api.deps import system
from api.i18n import TEXT
from api.ui_gate import librarian, signed_in
from api.ui_guard import language
from api.ui_render import redirect, render
from api.waybill_barcode import waybill_svg
from composition.bootstrap import System
from domain.access import Permission, Principal, may
from infra.clock import utc_now
from projections.libraries import list_libraries
from projections.shipments import in_transit, one

router = APIRouter(include_in_schema=False)


def _parcel(sys: System, me: Principal, shipment_id: UUID) -> dict[str, Any] | None:
    """The shipment, if the signed-in account may see it (its library sent or receives it)."""
    with sys.db.transaction() as conn:
        found = one(conn, shipment_id)
    if found is None:
        return None
    parties = [found["sender"], found["recipient"]]
    if may(me, Permission.SHIPMENTS_READ, library=parties) is None:
        return None
    stuck_before = utc_now() - timedelta(days=sys.settings.stuck_after_days)
    found["stuck"] = (
        found["status"] not in ("delivered", "returned_to_sender", "lost")
        and (found["last_carrier_at"] or found["dispatched_at"]) < stuck_before
    )
    if found["purpose"] == "transfer":
        found["for_page"] = f"/ui/transfers/{found['request_id']}"
    else:
        found["for_page"] = f"/ui/requests/{found['request_id']}"
    return found


@router.get("/ui/parcels", response_class=HTMLResponse)
def parcels(
    request: Request,
    sys: Annotated[System, Depends(system)],
    me: Annotated[Principal | None, Depends(ui_principal)],
    stuck: bool = False,
) -> Response:
    me, here = librarian(request, me, Permission.SHIPMENTS_READ)
    stuck_before = utc_now() - timedelta(days=sys.settings.stuck_after_days)
    with sys.db.transaction() as conn:
        rows = in_transit(conn, here, stuck_before if stuck else None)
    for r in rows:
        r["stuck"] = (r["last_carrier_at"] or r["dispatched_at"]) < stuck_before
    return render(request, "parcels.html", me, rows=rows, stuck=stuck)


@router.get("/ui/parcels/{shipment_id}", response_class=HTMLResponse)
def parcel(
    shipment_id: UUID,
    request: Request,
    sys: Annotated[System, Depends(system)],
    me: Annotated[Principal | None, Depends(ui_principal)],
) -> Response:
    lang = language(request)
    me = signed_in(request, me)
    found = _parcel(sys, me, shipment_id)
    if found is None:
        return redirect("/ui/parcels", lang, error=TEXT[lang]["parcel_not_found"])
    return render(request, "parcel.html", me, p=found)


@router.get("/ui/parcels/{shipment_id}/slip", response_class=HTMLResponse)
def slip(
    shipment_id: UUID,
    request: Request,
    sys: Annotated[System, Depends(system)],
    me: Annotated[Principal | None, Depends(ui_principal)],
) -> Response:
    """The packing slip (what is in each parcel, for whom) and the handover record the
    library and the carrier's courier sign at pickup: one page each when printed."""
    lang = language(request)
    me = signed_in(request, me)
    found = _parcel(sys, me, shipment_id)
    if found is None:
        return redirect("/ui/parcels", lang, error=TEXT[lang]["parcel_not_found"])
    with sys.db.transaction() as conn:
        names = {lib["code"]: lib["name"] for lib in list_libraries(conn)}
    return render(request, "slip.html", me, p=found, names=names, printed=utc_now())


@router.get("/ui/parcels/{shipment_id}/waybill.svg")
def waybill_image(
    shipment_id: UUID,
    request: Request,
    sys: Annotated[System, Depends(system)],
    me: Annotated[Principal | None, Depends(ui_principal)],
) -> Response:
    found = _parcel(sys, me, shipment_id) if me else None
    if found is None:
        return Response(status_code=404)
    headers = {"X-Content-Type-Options": "nosniff", "Cache-Control": "private, max-age=3600"}
    return Response(waybill_svg(found["waybill"]), media_type="image/svg+xml", headers=headers)
