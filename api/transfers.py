"""Transfers of stock between libraries: propose one, my library's queue (incoming,
outgoing, and what waits for my approval), the network administrator's queue of large
transfers, one transfer with its copy lines and timeline, its steps, and the handover
records (PDF) rendered again from the events and checked against the recorded hash."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, HTTPException, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from api.auth import Authorize
from api.deps import Writes, system
from api.fields import ClientRequestId, LibraryCode, line
from api.read_your_writes import MinVersion, caught_up, version_in
from api.requests import ShipmentIn
from composition.bootstrap import System
from domain.access import Permission, Principal, decide, may
from domain.transfer import Reason
from projections.transfers import (
    network_approval_queue,
    transfer_detail,
    transfer_parties,
    transfer_queue,
)
from services.commands import ProposeTransfer, TransferStep
from services.entry import unseen_transfer

router = APIRouter(prefix="/transfers", tags=["transfers"])
Proposer = Annotated[Principal, Depends(Authorize(Permission.TRANSFERS_PROPOSE))]
Reader = Annotated[Principal, Depends(Authorize(Permission.TRANSFERS_READ))]
Actor = Annotated[Principal, Depends(Authorize(Permission.TRANSFERS_ACT))]
NetworkAdmin = Annotated[Principal, Depends(Authorize(Permission.TRANSFERS_APPROVE_NETWORK))]

BARCODE = r"^[A-Za-z0-9][A-Za-z0-9-]{2,59}$"
Barcode = Annotated[str, Field(min_length=3, max_length=60, pattern=BARCODE)]
TransferAction = Literal[
    "approve", "reject", "cancel", "pick", "drop", "dispatch", "receive", "close", "found"
]


class NewTransfer(BaseModel):
    sender: LibraryCode
    receiver: LibraryCode
    reason: Reason = Field(description="manual and reorganisation move ownership for good")
    copies: list[Barcode] = Field(min_length=1, max_length=5000)
    due_date: date | None = Field(default=None, description="rotation and deposit only")
    note: str = line(min_length=0, max_length=500, default="")
    client_request_id: ClientRequestId | None = None


class Damaged(BaseModel):
    copy_: Barcode = Field(alias="copy")
    note: str = line(max_length=200, examples=["hư hỏng: rách bìa"])

    model_config = ConfigDict(populate_by_name=True)


class Step(BaseModel):
    """One step; the parameters each takes: reject/cancel `reason`; pick `copies`; drop
    `copy` and `reason`; dispatch `shipments`; receive `copies` (fine), `damaged` and
    `extras` (not on the list); found `copy`."""

    action: TransferAction
    client_request_id: ClientRequestId | None = None
    reason: str | None = line(max_length=500, default=None)
    copies: list[Barcode] | None = Field(default=None, max_length=5000)
    copy_: Barcode | None = Field(default=None, alias="copy")
    shipments: list[ShipmentIn] | None = Field(default=None, max_length=20)
    damaged: list[Damaged] | None = Field(default=None, max_length=5000)
    extras: list[Barcode] | None = Field(default=None, max_length=5000)

    model_config = ConfigDict(populate_by_name=True)


class NetworkDecision(BaseModel):
    decision: Literal["approve", "reject"]
    reason: str | None = line(max_length=500, default=None)
    client_request_id: ClientRequestId | None = None


class TransferAnswer(BaseModel):
    """A transfer as a command left it (`replayed: true` for a retried client_request_id)."""

    model_config = ConfigDict(extra="allow")

    id: UUID
    version: int
    status: str
    sender: str
    receiver: str
    reason: str
    due_date: date | None
    copies: int
    waiting_for: list[str]


def _unseen(transfer_id: UUID) -> str:
    return unseen_transfer(transfer_id)


@router.post("", status_code=201, response_model=TransferAnswer, summary="Propose a transfer")
def propose(
    body: NewTransfer,
    response: Response,
    sys: Annotated[System, Depends(system)],
    me: Proposer,
    writes: Writes,
) -> dict[str, Any]:
    command = ProposeTransfer(
        sender=body.sender.upper(),
        receiver=body.receiver.upper(),
        reason=body.reason.value,
        copies=tuple(c.upper() for c in body.copies),
        due_date=body.due_date,
        note=body.note,
        client_request_id=body.client_request_id,
    )
    result = sys.entry.act(me, command)
    if result.get("replayed"):
        response.status_code = 200
    response.headers["Location"] = f"/transfers/{result['id']}"
    writes.wrote(me, f"transfer:{result['id']}", result["version"])
    return result


@router.get("", summary="My library's transfers (or the network's approvals)")
def queue(
    sys: Annotated[System, Depends(system)],
    me: Reader,
    library: Annotated[
        str | None,
        Query(max_length=32, description="Auditors, department, network: whose (default: mine)"),
    ] = None,
    direction: Literal["incoming", "outgoing", "both"] = "both",
    needs_approval: Annotated[
        bool, Query(description="Only those waiting for this library's approval")
    ] = False,
    waiting_for_network: Annotated[
        bool, Query(description="Network administrators: those waiting for the network")
    ] = False,
    open_only: bool = False,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> list[dict[str, Any]]:
    """Open transfers first. Each row tells `direction` for the library and
    `needs_my_approval`."""
    if waiting_for_network:
        decide(me, Permission.TRANSFERS_APPROVE_NETWORK)
        with sys.db.transaction() as conn:
            return network_approval_queue(conn, limit, offset)
    whose = (library or me.library or "").strip().upper()
    decide(me, Permission.TRANSFERS_READ, library=whose)
    with sys.db.transaction() as conn:
        return transfer_queue(
            conn,
            whose,
            direction,
            needs_approval=needs_approval,
            open_only=open_only,
            limit=limit,
            offset=offset,
        )


@router.get("/{transfer_id}", summary="One transfer with its copy lines and timeline")
def one(
    transfer_id: UUID,
    sys: Annotated[System, Depends(system)],
    me: Reader,
    writes: Writes,
    min_version: MinVersion = None,
) -> dict[str, Any]:
    wanted = writes.wanted(me, f"transfer:{transfer_id}", min_version)
    if wanted:
        decide(
            me,
            Permission.TRANSFERS_READ,
            library=sys.transfers.parties(transfer_id),
            secret=_unseen(transfer_id),
        )

        def read() -> dict[str, Any] | None:
            with sys.db.transaction() as conn:
                return transfer_detail(conn, transfer_id)

        caught_up(read, version_in, wanted)
    with sys.db.transaction() as conn:
        found = transfer_detail(conn, transfer_id)
        involved = transfer_parties(conn, transfer_id)
    decide(me, Permission.TRANSFERS_READ, library=involved, secret=_unseen(transfer_id))
    if found is None:
        raise HTTPException(404, _unseen(transfer_id))
    found["my_side"] = _side(me, found)
    return found


def _side(me: Principal, found: dict[str, Any]) -> str | None:
    if may(me, Permission.TRANSFERS_ACT, library=me.library) is None:
        return None
    return {found["sender"]: "sender", found["receiver"]: "receiver"}.get(me.library or "")


@router.post("/{transfer_id}/actions", response_model=TransferAnswer, summary="A transfer's step")
def act(
    transfer_id: UUID,
    body: Step,
    sys: Annotated[System, Depends(system)],
    me: Actor,
    writes: Writes,
) -> dict[str, Any]:
    params = body.model_dump(
        exclude={"action", "client_request_id"}, exclude_none=True, by_alias=True
    )
    result = sys.entry.act(
        me,
        TransferStep(
            transfer_id, action=body.action, params=params, client_request_id=body.client_request_id
        ),
    )
    writes.wrote(me, f"transfer:{transfer_id}", result["version"])
    return result


@router.post(
    "/{transfer_id}/network-approval",
    response_model=TransferAnswer,
    summary="The network administrator approves or rejects a large transfer",
)
def network_approval(
    transfer_id: UUID,
    body: NetworkDecision,
    sys: Annotated[System, Depends(system)],
    me: NetworkAdmin,
    writes: Writes,
) -> dict[str, Any]:
    params = {"reason": body.reason} if body.reason else {}
    result = sys.entry.act(
        me,
        TransferStep(
            transfer_id,
            action=body.decision,
            params=params,
            client_request_id=body.client_request_id,
        ),
    )
    writes.wrote(me, f"transfer:{transfer_id}", result["version"])
    return result


class PdfResponse(Response):
    media_type = "application/pdf"


@router.get(
    "/{transfer_id}/handover/{stage}.pdf",
    response_class=PdfResponse,
    summary="A handover record, rendered again from the events",
    responses={200: {"content": {"application/pdf": {}}}},
)
def handover(
    transfer_id: UUID,
    stage: Literal["dispatch", "receipt"],
    sys: Annotated[System, Depends(system)],
    me: Reader,
) -> PdfResponse:
    """`X-Handover-Hash-Matches` says whether the bytes hash to the SHA-256 the transfer's
    event recorded (`X-Handover-SHA256`)."""
    decide(
        me,
        Permission.TRANSFERS_READ,
        library=sys.transfers.parties(transfer_id),
        secret=_unseen(transfer_id),
    )
    pdf, matches = sys.transfers.handover_record(transfer_id, stage)
    recorded = sys.transfers.get(transfer_id).handovers[stage]
    return PdfResponse(
        pdf,
        headers={
            "X-Handover-Hash-Matches": "true" if matches else "false",
            "X-Handover-SHA256": recorded,
            "Content-Disposition": f'inline; filename="{transfer_id}-{stage}.pdf"',
        },
    )
