"""A reader's own digital loans (ADR 0022), proved by their card's access key in the body
(never in a URL that logs keep): my shelf (loans, places on waitlists, and the offers
waiting for me, until when), and borrow, hold, return, renew, open (a viewer link), skip
an offer or cancel my place, for one work."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Response

from api.deps import system
from api.digital import Work
from api.fields import ClientRequestId
from api.readers import ReaderProof, proven
from composition.bootstrap import System
from domain.access import reader_self
from services.commands import MyDigitalShelf, MyDigitalStep

router = APIRouter(prefix="/readers/me/digital", tags=["readers"])
Step = Literal["borrow", "hold", "return", "renew", "link", "skip", "cancel"]


class StepIn(ReaderProof):
    client_request_id: ClientRequestId | None = None


@router.post("", summary="My digital loans, my places on waitlists, and the offers waiting")
def my_shelf(body: ReaderProof, sys: Annotated[System, Depends(system)]) -> dict[str, Any]:
    ref = proven(sys, body)
    return sys.entry.act(reader_self(ref), MyDigitalShelf(ref))


@router.post(
    "/{work}/{action}",
    summary="Borrow, hold, return, renew or open (a viewer link) a work; skip or cancel",
    responses={201: {"description": "borrowed, or a place taken"}},
)
def my_step(
    work: Work,
    action: Annotated[Step, Path()],
    body: StepIn,
    response: Response,
    sys: Annotated[System, Depends(system)],
) -> dict[str, Any]:
    ref = proven(sys, body)
    command = MyDigitalStep(ref, work, action, body.client_request_id)
    result = sys.entry.act(reader_self(ref), command)
    if action in ("borrow", "hold"):
        response.status_code = 200 if result.get("replayed") else 201
    return result
