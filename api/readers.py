"""Readers and their library cards: registering online (public), the reader's own card,
data and erasure (proved by the card's access key, in the body: never in a URL that
logs keep), and the desk's steps on a card (librarians of its home library; a
suspension from any library). Names, dates of birth and contacts are answered only to
the desk that verifies them and to the reader (ADR 0023)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Response
from pydantic import BaseModel, Field

from api.auth import Authorize, Unauthenticated
from api.deps import system
from api.fields import LIBRARY_CODE, ClientRequestId, LibraryCode, line
from composition.bootstrap import System
from domain.access import ONLINE_REGISTRATION, Permission, Principal, decide, reader_self
from projections.readers import cards_of
from services.commands import CardStep, EraseReader, ExportReaderData, RegisterReader, ShowReader
from services.readers import card_svg

router = APIRouter(prefix="/readers", tags=["readers"])
CARD = r"^[Rr][Dd]-[0-9A-Za-z]{10}$"
CardNumber = Annotated[str, Path(pattern=CARD, examples=["RD-7K3M9Q2XWA"])]
Desk = Annotated[Principal, Depends(Authorize(Permission.READERS_MANAGE))]


class Registration(BaseModel):
    home_library: LibraryCode
    name: str = line(max_length=120, examples=["Nguyễn Văn An"])
    date_of_birth: date
    contact: str = line(max_length=200, description="a telephone number or an e-mail")
    guardian_name: str | None = line(max_length=120, default=None)
    guardian_contact: str | None = line(max_length=200, default=None)
    client_request_id: ClientRequestId | None = None


class ReaderProof(BaseModel):
    reader_ref: str = Field(pattern=CARD)
    access_key: str = Field(min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_=-]+$")


class CardStepIn(BaseModel):
    """activate: `method` (the identity document sighted: citizen_id_card, vneid,
    passport, student_card, guardian; no image is ever taken) and `fee_paid`; renew:
    `fee_paid`; consent: the guardian's `name` and `contact`; suspend: `reason`."""

    method: str | None = line(max_length=40, default=None)
    fee_paid: int = Field(default=0, ge=0, le=10_000_000)
    name: str | None = line(max_length=120, default=None)
    contact: str | None = line(max_length=200, default=None)
    reason: str | None = line(max_length=500, default=None)


def proven(sys: System, proof: ReaderProof) -> str:
    ref = proof.reader_ref.upper()
    if not sys.readers.proves(ref, proof.access_key):
        raise Unauthenticated("the card number or its access key is wrong")
    return ref


@router.post("", status_code=201, summary="Register online: a pending card with its QR code")
def register(
    body: Registration, response: Response, sys: Annotated[System, Depends(system)]
) -> dict[str, Any]:
    command = RegisterReader(
        home_library=body.home_library,
        name=body.name,
        date_of_birth=body.date_of_birth,
        contact=body.contact,
        guardian_name=body.guardian_name,
        guardian_contact=body.guardian_contact,
        client_request_id=body.client_request_id,
    )
    result = sys.entry.act(ONLINE_REGISTRATION, command)
    if result.get("replayed"):
        response.status_code = 200
    response.headers["Location"] = f"/readers/{result['reader_ref']}"
    return result


class SvgResponse(Response):
    media_type = "image/svg+xml"


@router.post(
    "/me/card",
    response_class=SvgResponse,
    summary="My card's QR code (SVG)",
    responses={200: {"content": {"image/svg+xml": {}}}},
)
def my_card(body: ReaderProof, sys: Annotated[System, Depends(system)]) -> Response:
    ref = proven(sys, body)
    sys.readers.get(ref)
    return SvgResponse(card_svg(ref))


@router.post("/me/data", summary="Everything held about me (the right of access)")
def my_data(body: ReaderProof, sys: Annotated[System, Depends(system)]) -> dict[str, Any]:
    ref = proven(sys, body)
    return sys.entry.act(reader_self(ref), ExportReaderData(reader_ref=ref))


@router.post("/me/erasure", summary="Erase my personal data (acknowledged, then done)")
def erase_me(body: ReaderProof, sys: Annotated[System, Depends(system)]) -> dict[str, Any]:
    ref = proven(sys, body)
    return sys.entry.act(reader_self(ref), EraseReader(reader_ref=ref))


@router.get("", summary="My library's cards (no personal data): `status=pending` to verify")
def cards(
    sys: Annotated[System, Depends(system)],
    me: Annotated[Principal, Depends(Authorize(Permission.READERS_READ))],
    library: Annotated[str | None, Query(max_length=32, pattern=LIBRARY_CODE)] = None,
    status: Annotated[Literal["pending", "active", "suspended", "erased"] | None, Query()] = None,
) -> list[dict[str, Any]]:
    whose = (library or me.library or "").upper()
    decide(me, Permission.READERS_READ, library=whose)
    with sys.db.transaction() as conn:
        return cards_of(conn, whose, status)


@router.get("/{reader_ref}", summary="A card and its reader's personal data (the desk)")
def show(
    reader_ref: CardNumber,
    sys: Annotated[System, Depends(system)],
    me: Annotated[Principal, Depends(Authorize(Permission.READERS_READ))],
) -> dict[str, Any]:
    return sys.entry.act(me, ShowReader(reader_ref=reader_ref.upper()))


STEPS = {
    "consent": ("consent", "A guardian consents for a minor (home library)"),
    "activation": ("activate", "Identity verified in person: the card is valid (home library)"),
    "renewal": ("renew", "Renew the card (home library)"),
    "suspension": ("suspend", "Suspend the card (any library): it borrows nowhere"),
    "reinstatement": ("reinstate", "Lift a suspension (the library that made it, or home)"),
}


def _step_route(action: str) -> Any:
    def card_step(
        reader_ref: CardNumber,
        body: CardStepIn,
        sys: Annotated[System, Depends(system)],
        me: Desk,
    ) -> dict[str, Any]:
        params = {k: v for k, v in body.model_dump().items() if v is not None}
        command = CardStep(reader_ref=reader_ref.upper(), action=action, params=params)
        return sys.entry.act(me, command)

    card_step.__name__ = f"card_{action}"
    return card_step


for _path, (_action, _summary) in STEPS.items():
    router.add_api_route(
        f"/{{reader_ref}}/{_path}", _step_route(_action), methods=["POST"], summary=_summary
    )


@router.post("/{reader_ref}/erasure", summary="Erase a reader of my library")
def erase(
    reader_ref: CardNumber,
    sys: Annotated[System, Depends(system)],
    me: Annotated[Principal, Depends(Authorize(Permission.READERS_ERASE))],
) -> dict[str, Any]:
    return sys.entry.act(me, EraseReader(reader_ref=reader_ref.upper()))


@router.post("/{reader_ref}/data", summary="A reader's data, to hand to them at the desk")
def reader_data(
    reader_ref: CardNumber,
    sys: Annotated[System, Depends(system)],
    me: Annotated[Principal, Depends(Authorize(Permission.READERS_ERASE))],
) -> dict[str, Any]:
    return sys.entry.act(me, ExportReaderData(reader_ref=reader_ref.upper()))
