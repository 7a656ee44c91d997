"""ISO 18626 on the wire (ADR 0028). `POST /iso18626`: an outside peer's message (XML),
with its shared secret in `X-ISO18626-Shared-Secret` (or, for a peer configured for mutual
TLS, its pinned client certificate: api/tls.py); answered at once with the standard
confirmation, OK or ERROR (HTTP 200), or HTTP 400 with an ERROR confirmation when the body
is no ISO 18626 message at all. The network administrator configures the peers; a
request's messages, verbatim, are read at `/requests/{id}/iso18626`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from api.auth import Authorize
from api.deps import system
from api.fields import line
from api.tls import client_certificate
from composition.bootstrap import System
from domain.access import Permission, Principal, decide, iso_peer
from domain.iso_conversation import IsoConversation
from infra.iso18626_xml import Refused, build_confirmation, kind_of, read
from services.commands import ApplyIsoMessage, ConfigureIsoPeer, KeepRefusedIsoMessage
from services.entry import unseen_request
from services.iso_peers import SECRET_HEADER, peer_summary

router = APIRouter(tags=["ISO 18626"])
XML = "application/xml"
Admin = Annotated[Principal, Depends(Authorize(Permission.ISO18626_PEERS))]
Auditing = Annotated[Principal, Depends(Authorize(Permission.ISO18626_READ))]
MAX_BODY = 1_000_000


class NewPeer(BaseModel):
    library: str = line(max_length=40)
    name: str = line(max_length=200)
    agency_id_type: str = line(max_length=50)
    agency_id_value: str = line(max_length=50)
    url: str = line(max_length=500)
    auth: Literal["shared-secret", "mutual-tls"] = "shared-secret"
    schema_generation: Literal["2021", "2017"] = Field(default="2021", alias="schema")
    secret: str | None = Field(default=None, min_length=16, max_length=200)
    client_certificate: str | None = Field(
        default=None, max_length=20_000, description="mutual TLS: the peer's certificate (PEM)"
    )
    client_certificates: list[Annotated[str, Field(max_length=20_000)]] | None = Field(
        default=None,
        min_length=1,
        max_length=2,
        description="mutual TLS: the peer's certificates (PEM), two during a rotation's "
        "cut-over (the old and the new); replaces the pins it had",
    )
    client_identity: str | None = Field(
        default=None,
        max_length=50,
        description="the name of our client certificate presented to this peer "
        "(LIBSHARE_ISO18626_CLIENT_CERTS); empty: the network-wide one",
    )


@router.post("/iso18626/peers", status_code=201, summary="Configure an outside ISO 18626 peer")
def configure_peer(body: NewPeer, sys: Annotated[System, Depends(system)], me: Admin) -> Any:
    command = ConfigureIsoPeer(
        body.library,
        body.name,
        body.agency_id_type,
        body.agency_id_value,
        body.url,
        body.auth,
        body.schema_generation,
        body.secret,
        body.client_certificate,
        tuple(body.client_certificates) if body.client_certificates is not None else None,
        body.client_identity,
    )
    return sys.entry.act(me, command)


@router.get("/iso18626/peers/{library}", summary="One outside ISO 18626 peer")
def one_peer(library: str, sys: Annotated[System, Depends(system)], me: Admin) -> Any:
    assert sys.iso_peers is not None
    return peer_summary(sys.iso_peers.peer(library))


@router.get("/requests/{request_id}/iso18626", summary="A request's ISO 18626 messages")
def messages(
    request_id: UUID, sys: Annotated[System, Depends(system)], me: Auditing
) -> dict[str, Any]:
    """Every message in and out, verbatim, with its confirmation: the protocol audit."""
    involved = sys.requests.request_parties(request_id)
    decide(me, Permission.ISO18626_READ, library=involved, secret=unseen_request(request_id))
    assert sys.iso_peers is not None
    subject = IsoConversation.for_request(request_id)
    conv = (
        sys.iso_peers.store.repository.get(IsoConversation.id_for(subject))
        if sys.iso_peers.has_messages(request_id)
        else None
    )
    return {
        "request": str(request_id),
        "peer": conv.peer if conv else None,
        "messages": list(conv.messages) if conv else [],
    }


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


@router.post(
    "/iso18626",
    summary="An ISO 18626 message from an outside peer (XML; answered with its confirmation)",
    response_class=Response,
)
async def inbound(request: Request, sys: Annotated[System, Depends(system)]) -> Response:
    presented = request.headers.get(SECRET_HEADER, "")
    certificate = client_certificate(request.scope)
    if not presented and not certificate:
        raise HTTPException(
            401, f"send the peer's shared secret in {SECRET_HEADER}, or its client certificate"
        )
    if sys.iso_schemas is None or sys.iso_peers is None:
        raise HTTPException(503, "ISO 18626 is not configured here (no XSD folder)")
    body = await request.body()
    if len(body) > MAX_BODY:
        raise HTTPException(400, f"an ISO 18626 message has at most {MAX_BODY} bytes")
    return await run_in_threadpool(_receive, sys, body, presented, certificate)


def _receive(sys: System, body: bytes, presented: str, certificate: str) -> Response:
    assert sys.iso_schemas is not None and sys.iso_peers is not None
    schemas, peers = sys.iso_schemas, sys.iso_peers
    doc, kind = kind_of(body)
    if doc is None or kind is None:
        error = Refused("BadlyFormedMessage", "not an ISO 18626 message")
        answer = build_confirmation("2021", "request", {}, received_at=_now(), error=error)
        return Response(answer, status_code=400, media_type=XML)
    generation = schemas.generation_of(doc)
    refused = schemas.refusal(doc) if generation is None else None
    msg = read(doc, kind, generation or "2017")
    h = msg.header
    if kind == "supplyingAgencyMessage":
        sender, recipient = ("supplying", "requesting")
    else:
        sender, recipient = ("requesting", "supplying")
    peer = peers.peer_by_agency(h[f"{sender}_type"], h[f"{sender}_value"])
    ours = peers.our_library(h[f"{recipient}_type"], h[f"{recipient}_value"])
    if refused is None and peer is None:
        refused = Refused("UnrecognisedDataValue", f"{sender}AgencyId: agency not found")
    if refused is None and ours is None:
        refused = Refused("UnrecognisedDataValue", f"{recipient}AgencyId: agency not found")
    if peer is not None and not peers.authentic(peer, presented, certificate):
        if peer.auth == "mutual-tls":
            raise HTTPException(401, "the peer's pinned client certificate was not presented")
        raise HTTPException(401, "the shared secret does not match the peer's")
    if refused is not None:
        answer = build_confirmation(msg.generation, kind, h, received_at=_now(), error=refused)
        if peer is not None:  # (an unknown sender's message is not kept: ADR 0028)
            keep = KeepRefusedIsoMessage(
                peer.library, body.decode(errors="replace"), answer, *_parts(refused)
            )
            sys.entry.act(iso_peer(peer.library), keep)
        return Response(answer, media_type=XML)
    assert peer is not None
    command = ApplyIsoMessage(peer.library, ours, msg, body.decode(errors="replace"))
    return Response(sys.entry.act(iso_peer(peer.library), command), media_type=XML)


def _parts(refused: Refused) -> tuple[str, str]:
    return refused.error_type, refused.value
