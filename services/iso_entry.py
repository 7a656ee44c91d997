"""The entry's handlers for ISO 18626 on the wire (services/entry.py takes them into its
table, ADR 0028): the network administrator configures peers; a peer, proven by its shared
secret, acts on the requests it is party to; the outbox records what it sent."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from eventsourcing.persistence import IntegrityError

from domain.access import Caller, Permission, authorise
from domain.errors import InvalidInput
from domain.iso_conversation import IsoConversation
from infra.iso18626_xml import Refused
from services.commands import (
    ApplyIsoMessage,
    ConfigureIsoPeer,
    KeepRefusedIsoMessage,
    RecordIsoSent,
)
from services.iso_inbound import IsoInbound
from services.iso_peers import IsoPeersService


def _pins(c: ConfigureIsoPeer) -> tuple[str, ...] | None:
    if c.certificate is not None and c.certificates is not None:
        raise InvalidInput("give certificate or certificates, not both")
    return (c.certificate,) if c.certificate is not None else c.certificates


class IsoHandlers:
    def __init__(
        self, peers: IsoPeersService, inbound: IsoInbound, clock: Callable[[], datetime]
    ) -> None:
        self.peers = peers
        self.inbound = inbound
        self.clock = clock

    def table(self) -> dict[type[Any], Callable[[Caller, Any], Any]]:
        return {
            ConfigureIsoPeer: self._configure,
            ApplyIsoMessage: self._apply,
            KeepRefusedIsoMessage: self._keep_refused,
            RecordIsoSent: self._sent,
        }

    def _configure(self, caller: Caller, c: ConfigureIsoPeer) -> Any:
        actor = authorise(caller, Permission.ISO18626_PEERS)
        return self.peers.configure(
            actor,
            library=c.library,
            name=c.name,
            agency_id_type=c.agency_id_type,
            agency_id_value=c.agency_id_value,
            url=c.url,
            auth=c.auth,
            schema=c.schema,
            secret=c.secret,
            certificates=_pins(c),
            client_identity=c.client_identity,
        )

    def _apply(self, caller: Caller, c: ApplyIsoMessage) -> Any:
        # The peer acts only as itself: the platform caller names its library.
        actor = authorise(caller, Permission.ISO18626_PEER, partner=c.peer)
        return self.inbound.apply(actor, c.peer, c.supplier, c.message, c.raw, self.clock())

    def _keep_refused(self, caller: Caller, c: KeepRefusedIsoMessage) -> Any:
        actor = authorise(caller, Permission.ISO18626_PEER, partner=c.peer)
        at = self.clock().isoformat().replace("+00:00", "Z")
        refused = Refused(c.error_type, c.error_value)
        self.inbound.keep_refused(actor, c.peer, None, c.raw, c.confirmation, refused, at)

    def _sent(self, caller: Caller, c: RecordIsoSent) -> Any:
        actor = authorise(caller, Permission.ISO18626_OUTBOX)
        at = self.clock().isoformat().replace("+00:00", "Z")
        for attempt in range(3):  # an inbound message may be kept on it at the same time
            conv = self.inbound.conversation(IsoConversation.for_request(c.request_id), c.peer)
            if not conv.sent(
                at, c.source, c.kind, c.message, c.confirmation, c.status, c.attempts, c.error
            ):
                return False
            try:
                self.inbound.store.record(conv, actor=actor)
                return True
            except IntegrityError:
                if attempt == 2:
                    raise
        return False
