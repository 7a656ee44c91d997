"""Rotating collections and deposits: plan one (the box's stages), my library's rotations
(as home or as holder; overdue boxes), one rotation with its stays and transfers, and its
steps: advance (the box goes on to its next stage, or home), recall, extend."""

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
from composition.bootstrap import System
from domain.access import Permission, Principal, decide
from projections.transfers import rotation_detail, rotation_parties, rotations_of
from services.commands import PlanRotation, RotationStep
from services.entry import unseen_rotation

router = APIRouter(prefix="/rotations", tags=["rotations"])
Manager = Annotated[Principal, Depends(Authorize(Permission.ROTATIONS_MANAGE))]
Reader = Annotated[Principal, Depends(Authorize(Permission.TRANSFERS_READ))]

BARCODE = r"^[A-Za-z0-9][A-Za-z0-9-]{2,59}$"
Barcode = Annotated[str, Field(min_length=3, max_length=60, pattern=BARCODE)]


class Stage(BaseModel):
    library: LibraryCode
    days: int = Field(ge=1, le=730)


class NewRotation(BaseModel):
    name: str = line(max_length=200, examples=["Tủ sách luân chuyển số 3"])
    copies: list[Barcode] = Field(min_length=1, max_length=5000)
    stages: list[Stage] = Field(min_length=1, max_length=24)
    cyclical: bool = False
    client_request_id: ClientRequestId | None = None


class RotationAction(BaseModel):
    action: Literal["advance", "recall", "extend"]
    due_date: date | None = Field(default=None, description="extend: the new due date")
    reason: str | None = line(max_length=500, default=None)
    client_request_id: ClientRequestId | None = None


class RotationAnswer(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: UUID
    version: int
    home: str
    name: str
    status: str
    stage: int | None
    at: str
    due_date: date | None
    transfer_id: str | None
    copies: int
    lost: list[str]


def today(sys: System) -> date:
    """The day overdue is judged on: the services' clock's."""
    return sys.entry.clock().date()


@router.post("", status_code=201, response_model=RotationAnswer, summary="Plan a rotation")
def plan(
    body: NewRotation,
    response: Response,
    sys: Annotated[System, Depends(system)],
    me: Manager,
    writes: Writes,
) -> dict[str, Any]:
    command = PlanRotation(
        name=body.name,
        copies=tuple(c.upper() for c in body.copies),
        stages=tuple((s.library.upper(), s.days) for s in body.stages),
        cyclical=body.cyclical,
        client_request_id=body.client_request_id,
    )
    result = sys.entry.act(me, command)
    if result.get("replayed"):
        response.status_code = 200
    response.headers["Location"] = f"/rotations/{result['id']}"
    writes.wrote(me, f"rotation:{result['id']}", result["version"])
    return result


@router.get("", summary="My library's rotations, as home or holder; overdue boxes")
def mine(
    sys: Annotated[System, Depends(system)],
    me: Reader,
    library: Annotated[
        str | None,
        Query(max_length=32, description="Auditors, department, network: whose (default: mine)"),
    ] = None,
    side: Literal["home", "holding", "both"] = "both",
    overdue: Annotated[bool, Query(description="Only boxes past their stage's due date")] = False,
) -> list[dict[str, Any]]:
    whose = (library or me.library or "").strip().upper()
    decide(me, Permission.TRANSFERS_READ, library=whose)
    with sys.db.transaction() as conn:
        return rotations_of(conn, whose, today(sys), side=side, overdue_only=overdue)


@router.get("/{rotation_id}", summary="One rotation with its stays and transfers")
def one(
    rotation_id: UUID,
    sys: Annotated[System, Depends(system)],
    me: Reader,
    writes: Writes,
    min_version: MinVersion = None,
) -> dict[str, Any]:
    secret = unseen_rotation(rotation_id)
    wanted = writes.wanted(me, f"rotation:{rotation_id}", min_version)
    if wanted:
        decide(
            me, Permission.TRANSFERS_READ, library=sys.rotations.parties(rotation_id), secret=secret
        )

        def read() -> dict[str, Any] | None:
            with sys.db.transaction() as conn:
                return rotation_detail(conn, rotation_id, today(sys))

        caught_up(read, version_in, wanted)
    with sys.db.transaction() as conn:
        found = rotation_detail(conn, rotation_id, today(sys))
        involved = rotation_parties(conn, rotation_id)
    decide(me, Permission.TRANSFERS_READ, library=involved, secret=secret)
    if found is None:
        raise HTTPException(404, secret)
    return found


@router.post(
    "/{rotation_id}/actions", response_model=RotationAnswer, summary="advance, recall, extend"
)
def act(
    rotation_id: UUID,
    body: RotationAction,
    sys: Annotated[System, Depends(system)],
    me: Manager,
    writes: Writes,
) -> dict[str, Any]:
    params: dict[str, Any] = {}
    if body.due_date is not None:
        params["due_date"] = body.due_date  # the service takes a date
    if body.reason is not None:
        params["reason"] = body.reason
    result = sys.entry.act(
        me,
        RotationStep(
            rotation_id, action=body.action, params=params, client_request_id=body.client_request_id
        ),
    )
    writes.wrote(me, f"rotation:{rotation_id}", result["version"])
    if result.get("transfer_id"):
        # The box's new transfer: its parties may read it back at once.
        transfer = sys.transfers.get(UUID(result["transfer_id"]))
        writes.wrote(me, f"transfer:{transfer.id}", transfer.version)
    return result
