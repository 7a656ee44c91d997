"""The librarians' ILL API: create a request, the queues of my library, one request with
its timeline, and actions on it (only those valid in its state)."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, HTTPException, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from api.auth import Authorize
from api.deps import Writes, system
from api.fields import WAYBILL, Amount, ClientRequestId, PartnerCode, WorkCode, line, text
from api.read_your_writes import MinVersion, caught_up, version_in
from composition.bootstrap import System
from domain.access import Permission, Principal, decide, may
from domain.ill_actions import ALL_ACTIONS, available_actions
from domain.ill_status import Status
from projections.requests import detail, parties, queue
from projections.shipments import for_request
from services.commands import RequestItem, TakeAction
from services.entry import unseen_request

router = APIRouter(prefix="/requests", tags=["interlibrary loans"])
Requester = Annotated[Principal, Depends(Authorize(Permission.REQUEST_CREATE))]
Reader = Annotated[Principal, Depends(Authorize(Permission.REQUEST_READ))]
Actor = Annotated[Principal, Depends(Authorize(Permission.REQUEST_ACT))]

# Every ISO 18626 action either party may take (from the domain's table of who may do what).
IsoAction = StrEnum("IsoAction", {a: a for a in ALL_ACTIONS})  # type: ignore[misc]


class NewRequest(BaseModel):
    work: WorkCode = Field(examples=["W-KIEU"], description="The work's code in the catalogue")
    reader_ref: str = line(max_length=64, description="Your reader's card number")
    service_type: Literal["Loan", "Copy"] = "Loan"
    needed_by: date | None = None
    client_request_id: ClientRequestId | None = None


Barcode = Annotated[str, line(max_length=100)]


class Parcel(BaseModel):
    weight_grams: int = Field(ge=1, le=30_000)
    contents: list[Barcode] = Field(default=[], max_length=500, description="Item barcodes")


class ShipmentIn(BaseModel):
    """With Loaned or ShippedReturn: the parcels go by a postal partner."""

    partner: PartnerCode = Field(examples=["VNPOST"])
    waybill: str = Field(min_length=6, max_length=40, pattern=WAYBILL, examples=["EB123456789VN"])
    parcels: list[Parcel] = Field(min_length=1, max_length=50)
    declared_postage: Amount = Field(examples=["32000"], description="VND")


class Action(BaseModel):
    action: IsoAction
    client_request_id: ClientRequestId | None = None
    expected_version: int | None = Field(
        default=None,
        ge=0,
        le=2**31 - 1,
        description="Refuse (409) if the request changed since you saw it",
    )
    note: str | None = text(2000, default=None, description="Notification: the message")
    reason: str | None = line(
        max_length=200, default=None, description="reasonUnfilled, or why (Cancel, lost...)"
    )
    item_id: Barcode | None = Field(default=None, description="Loaned: barcode")
    answer: Literal["Y", "N"] | None = Field(default=None, description="Cancel/Renew responses")
    condition: Literal["LibraryUseOnly", "Cost", "LaterDate", "NoReproduction"] | None = None
    cost: str | None = line(max_length=50, default=None)
    available_on: date | None = None
    shipment: ShipmentIn | None = None
    to_request: UUID | None = Field(
        default=None, description="ShippedForward: the request the item goes on to"
    )


class RequestAnswer(BaseModel):
    """What a command on a request answers: the request as the command left it (with
    `replayed: true` when it is the first answer to a retried client_request_id)."""

    model_config = ConfigDict(extra="allow")

    id: UUID
    version: int = Field(
        description="The request's version after the command (read it back with `min_version`)"
    )
    status: Status
    requester: str
    supplier: str | None
    service_type: Literal["Loan", "Copy"]
    due_date: date | None
    rota: list[dict[str, Any]]


@router.post(
    "",
    status_code=201,
    response_model=RequestAnswer,
    summary="Ask the network for a work, for a reader",
)
def create(
    body: NewRequest,
    response: Response,
    sys: Annotated[System, Depends(system)],
    me: Requester,
    writes: Writes,
) -> dict[str, Any]:
    command = RequestItem(
        work=body.work,
        reader_ref=body.reader_ref,
        service_type=body.service_type,
        needed_by=body.needed_by,
        client_request_id=body.client_request_id,
    )
    result = sys.entry.act(me, command)
    if result.get("replayed"):
        response.status_code = 200
    response.headers["Location"] = f"/requests/{result['id']}"
    writes.wrote(me, f"request:{result['id']}", result["version"])
    return result


@router.get("", summary="My library's queue, as requester or as supplier")
def my_queue(
    sys: Annotated[System, Depends(system)],
    me: Reader,
    role: Annotated[Literal["requester", "supplier"], Query()] = "requester",
    library: Annotated[
        str | None, Query(max_length=32, description="Auditors: whose queue (default: mine)")
    ] = None,
    status: Annotated[list[Status] | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> list[dict[str, Any]]:
    whose = (library or me.library or "").strip().upper()
    decide(me, Permission.REQUEST_READ, library=whose)
    with sys.db.transaction() as conn:
        return queue(
            conn, whose, role, [s.value for s in status] if status else None, limit, offset
        )


@router.get("/{request_id}", summary="One request with its full timeline")
def one(
    request_id: UUID,
    sys: Annotated[System, Depends(system)],
    me: Reader,
    writes: Writes,
    min_version: MinVersion = None,
) -> dict[str, Any]:
    wanted = writes.wanted(me, f"request:{request_id}", min_version)
    if wanted:
        # Decided on the write side first, so that only those who may see the request
        # wait for the read model to catch up with it (the rest learn nothing by waiting).
        involved = sys.requests.request_parties(request_id)
        decide(me, Permission.REQUEST_READ, library=involved, secret=_unseen(request_id))

        def read() -> dict[str, Any] | None:
            with sys.db.transaction() as conn:
                return detail(conn, request_id)

        caught_up(read, version_in, wanted)
    with sys.db.transaction() as conn:
        found = detail(conn, request_id)
        involved = parties(conn, request_id)
        if found is not None:
            found["shipments"] = for_request(conn, request_id)
    decide(me, Permission.REQUEST_READ, library=involved, secret=_unseen(request_id))
    if found is None:
        raise HTTPException(404, _unseen(request_id))
    found["actions"] = actions_for(me, found)
    if sys.iso_peers is not None and sys.iso_peers.has_messages(request_id):
        found["iso18626_messages"] = f"/requests/{request_id}/iso18626"  # (ADR 0028)
    return found


def actions_for(me: Principal, found: dict[str, Any]) -> list[str]:
    """The ISO 18626 actions the caller may take on the request now: its library's side
    (requester or current supplier) and status decide; none for those who only read."""
    if may(me, Permission.REQUEST_ACT, library=me.library) is None:
        return []
    party = {found["requester"]: "requester", found["supplier"]: "supplier"}.get(me.library)
    return available_actions(
        found["status"],
        found["service_type"],
        party,
        found["renew_pending"],
        bool(found.get("awaiting_receipt")),
        str(found.get("return_held") or ""),
    )


def _unseen(request_id: UUID) -> str:
    return unseen_request(request_id)


@router.post(
    "/{request_id}/actions",
    response_model=RequestAnswer,
    summary="Act on a request (ISO 18626 actions)",
)
def act(
    request_id: UUID,
    body: Action,
    sys: Annotated[System, Depends(system)],
    me: Actor,
    writes: Writes,
) -> dict[str, Any]:
    params = body.model_dump(
        exclude={"action", "client_request_id", "expected_version"}, exclude_none=True
    )
    command = TakeAction(
        request_id,
        action=body.action.value,
        params=params,
        client_request_id=body.client_request_id,
        expected_version=body.expected_version,
    )
    result = sys.entry.act(me, command)
    writes.wrote(me, f"request:{request_id}", result["version"])
    return result
