"""Outside ISO 18626 peers, configured by the network administrator (ADR 0028): each is a
library of our network (registered as any library) that speaks ISO 18626 at its URL. Its
shared secret, sent in the `X-ISO18626-Shared-Secret` header both ways, is kept encrypted
(infra/partner_secrets.py, under "iso:<library>"); the event log names only its id."""

from __future__ import annotations

import hmac
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError

from domain.access import Actor
from domain.errors import InvalidInput, NotFound
from domain.iso_conversation import IsoConversation
from domain.iso_peer import IsoAgency, IsoPeer
from infra.certificates import fingerprint
from infra.network_app import NetworkApp
from infra.partner_secrets import PartnerSecrets
from services import aggregates

SECRET_HEADER = "X-ISO18626-Shared-Secret"


def peer_summary(peer: IsoPeer) -> dict[str, Any]:
    return {
        "library": peer.library,
        "name": peer.name,
        "agency_id_type": peer.agency_id_type,
        "agency_id_value": peer.agency_id_value,
        "url": peer.url,
        "auth": peer.auth,
        "schema": peer.schema,
        "secret_ids": list(peer.secret_ids),
        "certificate_sha256s": list(peer.certificate_sha256s),
        "client_identity": peer.client_identity or None,
        "version": peer.version,
    }


class IsoPeersService:
    def __init__(
        self,
        store: NetworkApp,
        secrets: PartnerSecrets,
        agency_id_type: str,
        client_identities: frozenset[str] = frozenset(),
    ) -> None:
        self.store = store
        self.secrets = secrets
        self.agency_id_type = agency_id_type  # our own libraries' (their value: the code)
        # the names of our client certificates (LIBSHARE_ISO18626_CLIENT_CERTS)
        self.client_identities = client_identities

    def configure(
        self,
        actor: Actor,
        *,
        library: str,
        name: str,
        agency_id_type: str,
        agency_id_value: str,
        url: str,
        auth: str,
        schema: str,
        secret: str | None,
        certificates: tuple[str, ...] | None = None,
        client_identity: str | None = None,
    ) -> dict[str, Any]:
        """Configure (or change) the peer standing as `library`. With `secret`, the
        shared secret the peer gave us; with none on a first configuration, a new one,
        shown in this answer only. With `certificates` (PEM, one, or two during a
        rotation), the client certificates it may present over mutual TLS, pinned by
        their fingerprints, replacing the pins it had; mutual TLS needs one. With
        `client_identity`, the name of our client certificate presented to it ("": the
        network-wide one), which must be one of our settings' names."""
        wanted = IsoPeer.configure(
            library, name, agency_id_type, agency_id_value, url, auth, schema
        )
        aggregates.library(self.store, wanted.library)  # a library of our network
        if (
            agency_id_type == self.agency_id_type
            and agency_id_value.strip().upper() != wanted.library
            and self._ours(agency_id_value)
        ):
            raise InvalidInput(f"agency {agency_id_type}:{agency_id_value} is one of our libraries")
        claimed = self.agency(agency_id_type, agency_id_value)
        if (
            claimed is not None
            and claimed.library != wanted.library
            and self.peer_or_none(claimed.library) is not None
            and self._names(claimed.library, agency_id_type, agency_id_value)
        ):
            raise InvalidInput(
                f"agency {agency_id_type}:{agency_id_value} is the peer {claimed.library}'s"
            )
        peer = self.peer_or_none(wanted.library)
        if peer is None:
            peer = wanted
        else:
            peer.reconfigure(wanted)
        if claimed is None:
            claimed = IsoAgency.claim(agency_id_type, agency_id_value, peer.library)
        else:
            claimed.reassign(peer.library)
        if certificates is not None:
            peer.pin_certificates([fingerprint(pem) for pem in certificates])
        if client_identity is not None:
            if client_identity and client_identity not in self.client_identities:
                known = ", ".join(sorted(self.client_identities)) or "none"
                raise InvalidInput(
                    f"client certificate {client_identity!r} is not one of ours "
                    f"(LIBSHARE_ISO18626_CLIENT_CERTS: {known})"
                )
            peer.choose_client_identity(client_identity)
        if peer.auth == "mutual-tls" and not peer.certificate_sha256s:
            raise InvalidInput("mutual TLS needs the peer's client certificate (PEM)")
        shown = None
        if secret is not None or (not peer.secret_ids and peer.auth == "shared-secret"):
            if secret is not None and len(secret) < 16:
                raise InvalidInput("a shared secret has at least 16 characters")
            secret_id, created = self.secrets.create(f"iso:{peer.library}", secret)
            peer.set_secret(secret_id)
            shown = None if secret is not None else created
        self.store.record(peer, claimed, actor=actor)
        return {**peer_summary(peer), **({"secret": shown} if shown else {})}

    def _ours(self, code: str) -> bool:
        try:
            aggregates.library(self.store, code)
        except (NotFound, InvalidInput):
            return False
        return self.peer_or_none(code.upper()) is None

    def _names(self, library: str, agency_id_type: str, agency_id_value: str) -> bool:
        peer = self.peer(library)
        return (peer.agency_id_type, peer.agency_id_value) == (agency_id_type, agency_id_value)

    def peer_or_none(self, library: str) -> IsoPeer | None:
        try:
            found: object = self.store.repository.get(IsoPeer.id_for(library.strip().upper()))
        except AggregateNotFoundError:
            return None
        return found if isinstance(found, IsoPeer) else None

    def peer(self, library: str) -> IsoPeer:
        found = self.peer_or_none(library)
        if found is None:
            raise NotFound(f"no ISO 18626 peer {library.strip().upper()}")
        return found

    def agency(self, agency_id_type: str, agency_id_value: str) -> IsoAgency | None:
        try:
            found: object = self.store.repository.get(
                IsoAgency.id_for(agency_id_type, agency_id_value)
            )
        except AggregateNotFoundError:
            return None
        return found if isinstance(found, IsoAgency) else None

    def peer_by_agency(self, agency_id_type: str, agency_id_value: str) -> IsoPeer | None:
        """The peer this agency id names now, if any."""
        claimed = self.agency(agency_id_type, agency_id_value)
        peer = self.peer_or_none(claimed.library) if claimed is not None else None
        if peer is None or (peer.agency_id_type, peer.agency_id_value) != (
            agency_id_type,
            agency_id_value,
        ):
            return None
        return peer

    def our_library(self, agency_id_type: str, agency_id_value: str) -> str | None:
        """The code of our library (not a peer's) that this agency id names, if any."""
        if agency_id_type != self.agency_id_type or not self._ours(agency_id_value):
            return None
        return agency_id_value.strip().upper()

    def secret_of(self, peer: IsoPeer) -> str:
        keys = self.secrets.valid(f"iso:{peer.library}", peer.secret_ids)
        if not keys:
            raise NotFound(f"the peer {peer.library} has no shared secret")
        return keys[0].decode()

    def authentic(self, peer: IsoPeer, presented: str, certificate: str = "") -> bool:
        """Whether the sender is `peer`: by its shared secret, or (mutual TLS) by the
        client certificate the TLS handshake verified, one of those pinned for it."""
        if peer.auth == "mutual-tls":
            presented_sha256 = fingerprint(certificate) if certificate else ""
            return bool(presented_sha256) and any(
                hmac.compare_digest(presented_sha256, pin) for pin in peer.certificate_sha256s
            )
        keys = self.secrets.valid(f"iso:{peer.library}", peer.secret_ids)
        return any(hmac.compare_digest(k, presented.encode()) for k in keys)

    def has_messages(self, request_id: UUID) -> bool:
        """Whether the request has an ISO 18626 conversation (the protocol audit)."""
        subject = IsoConversation.for_request(request_id)
        return IsoConversation.id_for(subject) in self.store.repository
