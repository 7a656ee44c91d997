"""Copies one by one: register one (library administrators), read one with its whole
history from the event store (who did what to it, in order), and what a library's desk
does with one: lend it to a reader, check it in (at a library that does not hold it, the
copy's history says so), withdraw it."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Response
from pydantic import BaseModel, Field

from api.auth import Authorize
from api.deps import system
from api.fields import LibraryCode, WorkCode, line
from composition.bootstrap import System
from domain.access import Permission, Principal, decide
from domain.account import Role
from domain.copy import Copy, barcode_of
from infra.aggregate_history import history
from services.commands import CheckInCopy, CheckOutCopy, RegisterCopy, WithdrawCopy
from services.copies import copy_summary

router = APIRouter(prefix="/copies", tags=["copies"])
Registrar = Annotated[Principal, Depends(Authorize(Permission.COPIES_REGISTER))]
Reader = Annotated[Principal, Depends(Authorize(Permission.TRANSFERS_READ))]
Desk = Annotated[Principal, Depends(Authorize(Permission.COPIES_CIRCULATE))]
Withdrawer = Annotated[Principal, Depends(Authorize(Permission.COPIES_WITHDRAW))]

BARCODE = r"^[A-Za-z0-9][A-Za-z0-9-]{2,59}$"
Barcode = Annotated[str, Path(min_length=3, max_length=60, pattern=BARCODE)]


class NewCopy(BaseModel):
    barcode: str = Field(min_length=3, max_length=60, pattern=BARCODE, examples=["KB-000123"])
    work: WorkCode = Field(examples=["W-KIEU"])
    library: LibraryCode | None = Field(
        default=None, description="The owning library (default: yours)"
    )


class CheckOut(BaseModel):
    reader_ref: str = line(max_length=64, description="Your reader's card number")


class Withdrawal(BaseModel):
    reason: str = line(max_length=500, examples=["hư hỏng, thanh lý"])


@router.post("", status_code=201, summary="Register a copy your library owns")
def register(
    body: NewCopy, response: Response, sys: Annotated[System, Depends(system)], me: Registrar
) -> dict[str, Any]:
    library = (body.library or me.library or "").strip().upper()
    copy, created = sys.entry.act(me, RegisterCopy(body.barcode, body.work, library))
    if not created:
        response.status_code = 200
    response.headers["Location"] = f"/copies/{copy.barcode}"
    return copy_summary(copy)


@router.get("/{barcode}", summary="One copy: where it is, and its whole history")
def one(barcode: Barcode, sys: Annotated[System, Depends(system)], me: Reader) -> dict[str, Any]:
    """Any library's staff may find a copy (as in the union catalogue); who it was lent
    to (a reader's card) shows only to the library that lent it, and to auditors."""
    decide(me, Permission.TRANSFERS_READ, library=me.library)
    copy = sys.copies.get(barcode_of(barcode))
    with sys.db.transaction() as conn:
        events = history(conn, sys.reader.mapper, Copy.id_for(copy.barcode))
    for e in events:
        if "reader_ref" in e["data"] and not _sees_readers(me, e["data"].get("holder")):
            e["data"]["reader_ref"] = None
    found = copy_summary(copy)
    if found["loan"] and "reader" in found["loan"] and not _sees_readers(me, copy.holder):
        found["loan"] = {**found["loan"], "reader": None}
    found["requestable"] = copy.requestable
    found["history"] = events
    return found


def _sees_readers(me: Principal, library: str | None) -> bool:
    return Role.AUDITOR in me.roles or (me.library is not None and me.library == library)


def _answer(copy: Copy) -> dict[str, Any]:
    return {**copy_summary(copy), "requestable": copy.requestable}


@router.post("/{barcode}/check-out", summary="Lend a copy your library holds to a reader")
def check_out(
    barcode: Barcode, body: CheckOut, sys: Annotated[System, Depends(system)], me: Desk
) -> dict[str, Any]:
    return _answer(sys.entry.act(me, CheckOutCopy(barcode, body.reader_ref)))


@router.post(
    "/{barcode}/check-in",
    summary="A copy is back at your library's desk (anywhere else: recorded as such)",
)
def check_in(barcode: Barcode, sys: Annotated[System, Depends(system)], me: Desk) -> dict[str, Any]:
    return _answer(sys.entry.act(me, CheckInCopy(barcode)))


@router.post("/{barcode}/withdraw", summary="Take a copy your library owns out for good")
def withdraw(
    barcode: Barcode, body: Withdrawal, sys: Annotated[System, Depends(system)], me: Withdrawer
) -> dict[str, Any]:
    return _answer(sys.entry.act(me, WithdrawCopy(barcode, body.reason)))
