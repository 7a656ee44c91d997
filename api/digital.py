"""Digital lending (ADR 0022): a digitised work's pool (its rights, what is free, the
waitlist with each place, my library's readers' loans), recording its rights and how many
copies lend, loans and holds for a library's readers (return, renew, skip, cancel), the
short-lived viewer link of a loan, and the pages it opens (the link is the credential)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Response
from pydantic import BaseModel, Field

from api.auth import Authorize
from api.deps import Writes, system
from api.fields import ClientRequestId, LibraryCode, line
from api.read_your_writes import MinVersion, caught_up, version_in
from composition.bootstrap import System
from domain.access import VIEWER_LINK, Permission, Principal
from domain.account import Role
from domain.digital_rights import Basis, Scope
from domain.digital_terms import ReaderType
from projections.digital import pool_detail
from services.commands import (
    BorrowDigital,
    DigitalHoldStep,
    DigitalLoanStep,
    IssueViewerLink,
    PlaceDigitalHold,
    RecordRights,
    SetLendable,
    ViewPage,
)

router = APIRouter(tags=["digital lending"])
Reader = Annotated[Principal, Depends(Authorize(Permission.DIGITAL_READ))]
RightsHolder = Annotated[Principal, Depends(Authorize(Permission.DIGITAL_RIGHTS))]
Lender = Annotated[Principal, Depends(Authorize(Permission.DIGITAL_LEND))]
Work = Annotated[
    str, Path(min_length=3, max_length=40, pattern=r"^[Ww]-[A-Za-z0-9]+(-[A-Za-z0-9]+)*$")
]
LoanId = Annotated[str, Path(min_length=8, max_length=64, pattern=r"^[0-9a-f-]+$")]
ReaderRef = Annotated[
    str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
]
BARCODE = r"^[A-Za-z0-9][A-Za-z0-9-]{2,59}$"


class RightsIn(BaseModel):
    """licensed: terms, concurrent_loans and expires_on; family_deposit: owner, consent
    and scope."""

    basis: Basis
    terms: str = line(min_length=0, max_length=500, default="")
    concurrent_loans: int | None = Field(default=None, ge=1, le=1000)
    expires_on: date | None = None
    owner: str = line(min_length=0, max_length=200, default="")
    consent: bool = False
    scope: Scope = Scope.NETWORK
    library: LibraryCode | None = Field(
        default=None, description="the first record: the library holding the work (default: mine)"
    )


class LendableIn(BaseModel):
    count: int = Field(ge=0, le=1000)
    backing: list[Annotated[str, Field(pattern=BARCODE, max_length=60)]] = Field(
        default_factory=list, max_length=1000, description="physical copies set aside, one each"
    )


class ForReader(BaseModel):
    reader_ref: ReaderRef
    reader_type: ReaderType = ReaderType.ADULT
    client_request_id: ClientRequestId | None = None


class LoanAction(BaseModel):
    action: Literal["return", "renew"]


class HoldAction(BaseModel):
    action: Literal["skip", "cancel"]


def _wrote(writes: Writes, me: Principal, result: dict[str, Any]) -> dict[str, Any]:
    writes.wrote(me, f"digital:{result['work']}", result["version"])
    return result


@router.get("/digital/{work}", summary="A digitised work's pool: rights, free copies, waitlist")
def pool(
    work: Work,
    sys: Annotated[System, Depends(system)],
    me: Reader,
    writes: Writes,
    min_version: MinVersion = None,
) -> dict[str, Any]:
    """Every loan and hold of my library's readers; of others' only their places."""
    code = work.upper()
    whose = None if Role.AUDITOR in me.roles else me.library
    if not sys.digital.visible(code, me.work_scope):
        raise HTTPException(404, f"work {code} has no digital copies recorded")

    def read() -> dict[str, Any] | None:
        with sys.db.transaction() as conn:
            return pool_detail(conn, code, whose)

    wanted = writes.wanted(me, f"digital:{code}", min_version)
    if wanted:
        caught_up(read, version_in, wanted)
    found = read()
    if found is None:
        raise HTTPException(404, f"work {code} has no digital copies recorded")
    return found


@router.put("/digital/{work}/rights", summary="Record the rights a digitised work is lent under")
def rights(
    work: Work,
    body: RightsIn,
    sys: Annotated[System, Depends(system)],
    me: RightsHolder,
    writes: Writes,
) -> dict[str, Any]:
    command = RecordRights(
        work=work.upper(),
        basis=body.basis.value,
        terms=body.terms,
        concurrent_loans=body.concurrent_loans,
        expires_on=body.expires_on,
        owner=body.owner,
        consent=body.consent,
        scope=body.scope.value,
        library=body.library.upper() if body.library else None,
    )
    return _wrote(writes, me, sys.entry.act(me, command))


@router.put("/digital/{work}/lendable", summary="How many digital copies lend at once")
def lendable(
    work: Work,
    body: LendableIn,
    sys: Annotated[System, Depends(system)],
    me: RightsHolder,
    writes: Writes,
) -> dict[str, Any]:
    """Lowering it never cuts an active loan: it stops new ones."""
    command = SetLendable(work.upper(), body.count, tuple(b.upper() for b in body.backing))
    return _wrote(writes, me, sys.entry.act(me, command))


@router.post("/digital/{work}/loans", status_code=201, summary="Lend a digital copy to a reader")
def borrow(
    work: Work,
    body: ForReader,
    response: Response,
    sys: Annotated[System, Depends(system)],
    me: Lender,
    writes: Writes,
) -> dict[str, Any]:
    command = BorrowDigital(
        work.upper(), body.reader_ref, body.reader_type.value, body.client_request_id
    )
    result = sys.entry.act(me, command)
    if result.get("replayed"):
        response.status_code = 200
    return _wrote(writes, me, result)


@router.post("/digital/{work}/loans/{loan_id}/actions", summary="Return or renew a digital loan")
def loan_action(
    work: Work,
    loan_id: LoanId,
    body: LoanAction,
    sys: Annotated[System, Depends(system)],
    me: Lender,
    writes: Writes,
) -> dict[str, Any]:
    """renew: only while nobody waits, once."""
    result = sys.entry.act(me, DigitalLoanStep(work.upper(), loan_id, body.action))
    return _wrote(writes, me, result)


@router.post("/digital/{work}/loans/{loan_id}/link", status_code=201, summary="A viewer link")
def link(
    work: Work, loan_id: LoanId, sys: Annotated[System, Depends(system)], me: Lender
) -> dict[str, Any]:
    """Short-lived (15 minutes, never past the loan's due time); it stops working the
    moment the loan expires or is returned."""
    return sys.entry.act(me, IssueViewerLink(work.upper(), loan_id))


@router.post("/digital/{work}/holds", status_code=201, summary="Put a reader on the waitlist")
def hold(
    work: Work,
    body: ForReader,
    response: Response,
    sys: Annotated[System, Depends(system)],
    me: Lender,
    writes: Writes,
) -> dict[str, Any]:
    command = PlaceDigitalHold(
        work.upper(), body.reader_ref, body.reader_type.value, body.client_request_id
    )
    result = sys.entry.act(me, command)
    if result.get("replayed"):
        response.status_code = 200
    return _wrote(writes, me, result)


@router.post(
    "/digital/{work}/holds/{reader_ref}/actions", summary="Skip an offer, or cancel a hold"
)
def hold_action(
    work: Work,
    reader_ref: Annotated[str, Path(min_length=1, max_length=64)],
    body: HoldAction,
    sys: Annotated[System, Depends(system)],
    me: Lender,
    writes: Writes,
) -> dict[str, Any]:
    """skip: the one courtesy skip; the copy goes to the next in line, the reader keeps
    their place for the copy after."""
    result = sys.entry.act(me, DigitalHoldStep(work.upper(), reader_ref, body.action))
    return _wrote(writes, me, result)


@router.get(
    "/viewer/{token}/pages/{page}",
    summary="A page of a digitised work through a viewer link",
    response_class=Response,
    responses={200: {"content": {"image/svg+xml": {}, "image/png": {}}}},
)
def page(
    token: Annotated[str, Path(min_length=10, max_length=400)],
    page: Annotated[int, Path(ge=1, le=100_000)],
    sys: Annotated[System, Depends(system)],
) -> Response:
    """Checked on every request: the link's signature and lifetime, and that its loan is
    still active; each page served is an event."""
    body, media_type = sys.entry.act(VIEWER_LINK, ViewPage(token, page))
    return Response(body, media_type=media_type, headers={"Cache-Control": "no-store"})
