"""The protocol audit of one request's ISO 18626 exchange with an outside peer: every
message in and out, verbatim, with the confirmation it got (ADR 0028). A message we send
is recorded once per event it was built from (`source`: the request event's id), so a
worker that sends it again after a crash records nothing new. Messages from a known peer
about no request of ours are kept on that peer's conversation (`for_peer`)."""

from __future__ import annotations

from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

INBOUND, OUTBOUND = "in", "out"


class IsoConversation(Aggregate):
    TYPE_NAME = "iso-conversation"

    class Opened(Aggregate.Created):
        subject: str  # "request:<id>" or "peer:<library>"
        peer: str
        peer_request_id: str  # the peer's requestingAgencyRequestId, when it requested

    def __init__(self, subject: str, peer: str, peer_request_id: str) -> None:
        self.subject = subject
        self.peer = peer
        self.peer_request_id = peer_request_id
        self.messages: list[dict[str, Any]] = []
        self.sources: set[str] = set()

    @staticmethod
    def id_for(subject: str) -> UUID:
        return uuid5(NAMESPACE_URL, f"libshare:iso-conversation:{subject}")

    @classmethod
    def open(cls, subject: str, peer: str, peer_request_id: str = "") -> IsoConversation:
        return cls._create(
            cls.Opened,
            id=cls.id_for(subject),
            subject=subject,
            peer=peer,
            peer_request_id=peer_request_id,
        )

    @staticmethod
    def for_request(request_id: UUID) -> str:
        return f"request:{request_id}"

    @staticmethod
    def for_peer(library: str) -> str:
        return f"peer:{library}"

    def received(
        self, at: str, kind: str, message: str, confirmation: str, status: str, error: str = ""
    ) -> None:
        """A message a peer sent us, and the confirmation we answered with."""
        self._received(
            at=at, kind=kind, message=message, confirmation=confirmation, status=status, error=error
        )

    @event("MessageReceived")
    def _received(
        self, at: str, kind: str, message: str, confirmation: str, status: str, error: str
    ) -> None:
        self.messages.append(
            {
                "at": at,
                "direction": INBOUND,
                "kind": kind,
                "message": message,
                "confirmation": confirmation,
                "status": status,
                "error": error,
            }
        )

    def sent(
        self,
        at: str,
        source: str,
        kind: str,
        message: str,
        confirmation: str,
        status: str,
        attempts: int,
        error: str = "",
    ) -> bool:
        """A message we sent, built from the event `source`, with the peer's confirmation
        (or, after the last attempt failed, none and the error). False: recorded already."""
        if source in self.sources:
            return False
        self._sent(
            at=at,
            source=source,
            kind=kind,
            message=message,
            confirmation=confirmation,
            status=status,
            attempts=attempts,
            error=error,
        )
        return True

    @event("MessageSent")
    def _sent(
        self,
        at: str,
        source: str,
        kind: str,
        message: str,
        confirmation: str,
        status: str,
        attempts: int,
        error: str,
    ) -> None:
        self.sources = {*self.sources, source}
        self.messages.append(
            {
                "at": at,
                "direction": OUTBOUND,
                "source": source,
                "kind": kind,
                "message": message,
                "confirmation": confirmation,
                "status": status,
                "attempts": attempts,
                "error": error,
            }
        )
