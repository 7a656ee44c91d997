"""The ISO 18626 outbox (ADR 0028): follows the event log with the gap-aware reader and,
for each request event an outside peer must hear of, builds the message (2021, or 2017
for a peer configured so), validates it against the schema, sends it with retries
(tenacity) and records the message and the peer's confirmation on the request's
conversation (domain/iso_conversation.py). The header's timestamp is the event's, so a
message sent again after a crash is the same message, and the peer's idempotency drops
it; the conversation records it once. A peer that stays away gets the error recorded;
the request moves on at the rota's time-out, as the timers already do."""

from __future__ import annotations

import ssl
import threading
from collections.abc import Callable, Mapping
from typing import Any

import httpx
import structlog
from eventsourcing.application import AggregateNotFoundError
from lxml import etree
from tenacity import (
    Retrying,
    retry_if_exception,
    stop_after_delay,
    wait_exponential_jitter,
)

from domain.access import ISO_OUTBOX
from domain.catalogue import Work
from domain.errors import DomainError
from domain.ill_request import IllRequest
from domain.ill_status import Status
from domain.iso_conversation import IsoConversation
from domain.iso_peer import IsoPeer
from infra.database import Database
from infra.envelope import Envelope
from infra.iso18626_xml import (
    Header,
    Schemas,
    build_request,
    build_requesting,
    build_supplying,
    read_confirmation,
)
from infra.log_reader import LogPosition, NotificationLogReader, position_of
from services import aggregates
from services.commands import RecordIsoSent
from services.entry import Entry
from services.iso_inbound import forward_note
from services.iso_peers import SECRET_HEADER, IsoPeersService

log = structlog.get_logger("libshare.iso_outbox")

DDL = """
CREATE TABLE IF NOT EXISTS iso_outbox_positions (
    outbox text PRIMARY KEY,
    xid bigint NOT NULL DEFAULT 0,
    notification_id bigint NOT NULL DEFAULT 0,
    updated_at timestamptz NOT NULL DEFAULT now()
);
"""
# Our requester's events -> the requestingAgencyMessage action they send the supplier.
REQUESTER_SENDS = {
    "CancelRequested": "Cancel",
    "Cancelled": "Cancel",
    "Received": "Received",
    "RenewRequested": "Renew",
    "ReturnShipped": "ShippedReturn",
}
# Our supplier's events -> (reasonForMessage, status) they send the requester.
SUPPLIER_SENDS = {
    "ExpectsToSupply": ("RequestResponse", "ExpectToSupply"),
    "WillSupply": ("RequestResponse", "WillSupply"),
    "ConditionsProposed": ("RequestResponse", "RetryPossible"),
    "SupplierSkipped": ("RequestResponse", "Unfilled"),
    "Loaned": ("StatusChange", "Loaned"),
    "CopyDelivered": ("StatusChange", "CopyCompleted"),
    "Recalled": ("StatusChange", "Recalled"),
    "MarkedOverdue": ("StatusChange", "Overdue"),
    "LoanCompleted": ("StatusChange", "LoanCompleted"),
    "CompletedWithoutReturn": ("StatusChange", "CompletedWithoutReturn"),
    "CancelAnswered": ("CancelResponse", ""),
    "RenewAnswered": ("RenewResponse", ""),
    "ReturnHeld": ("StatusChange", "HoldReturn"),
    "ReturnHoldReleased": ("StatusChange", "ReleaseHoldReturn"),
}
# What 2017 lacks (HoldReturn, ReleaseHoldReturn, Lost): a Notification, its name the note.
NOT_IN_2017 = frozenset({"HoldReturn", "ReleaseHoldReturn", "Lost"})
MOVED_ON = ("AnswerTimedOut", "ConditionsDeclined", "ConditionsNotAnswered")


class NoClientCertificate(Exception):
    """A peer configured for mutual TLS, or for a client certificate of ours by name, and
    no such certificate configured here."""


class Unsendable(Exception):
    """A message that failed its schema: a bug of ours, recorded, never sent."""


def _z(value: Any) -> str:
    text = str(value)
    if "T" not in text:
        text += "T00:00:00"
    if text.endswith("+00:00"):
        text = text[: -len("+00:00")]
    return text if text.endswith("Z") or "+" in text[10:] else text + "Z"


def _transient(exc: BaseException) -> bool:
    if isinstance(exc, httpx.HTTPStatusError):
        return exc.response.status_code >= 500 or exc.response.status_code == 429
    return isinstance(exc, httpx.TransportError) and not _refused_certificate(exc)


def _refused_certificate(exc: BaseException) -> bool:
    """Whether the peer's server certificate failed our check (revoked, an unknown CA,
    expired): not retried, as trying again in a moment changes nothing."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLCertVerificationError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


class IsoOutbox:
    def __init__(
        self,
        db: Database,
        reader: NotificationLogReader,
        entry: Entry,
        peers: IsoPeersService,
        schemas: Schemas,
        *,
        send_seconds: float = 30.0,
        name: str = "iso18626",
        post: Callable[..., httpx.Response] | None = None,
        verify: ssl.SSLContext | bool = True,
        identity: ssl.SSLContext | None = None,
        identities: Mapping[str, ssl.SSLContext] | None = None,
        isbns: Callable[[str], list[str]] | None = None,
    ) -> None:
        """`verify`: how peers' server certificates are checked; `identity`: the context
        that also presents our client certificate, to peers configured for mutual TLS;
        `identities`: those presenting our other client certificates, by name, to the
        peers configured with that name."""
        self.db = db
        self.reader = reader
        self.entry = entry
        self.peers = peers
        self.schemas = schemas
        self.send_seconds = send_seconds
        self.name = name
        self.post = post or httpx.post
        self.verify = verify
        self.identity = identity
        self.identities = identities or {}
        self.isbns = isbns or (lambda work: [])  # a work's ISBNs, sent with a request
        self.sent = 0

    def setup(self) -> None:
        with self.db.transaction() as conn:
            conn.execute("SELECT pg_advisory_xact_lock(hashtext('libshare-iso-outbox-setup'))")
            conn.execute(DDL)
            conn.execute(
                "INSERT INTO iso_outbox_positions (outbox) VALUES (%s) ON CONFLICT DO NOTHING",
                (self.name,),
            )

    def _position(self) -> LogPosition:
        with self.db.transaction() as conn:
            row = conn.execute(
                "SELECT xid, notification_id FROM iso_outbox_positions WHERE outbox = %s",
                (self.name,),
            ).fetchone()
        return LogPosition(int(row[0]), int(row[1])) if row else LogPosition()

    def _store_position(self, position: LogPosition) -> None:
        with self.db.transaction() as conn:
            conn.execute(
                "UPDATE iso_outbox_positions SET xid = %s, notification_id = %s, "
                "updated_at = now() WHERE outbox = %s",
                (position.xid, position.notification_id, self.name),
            )

    def run_once(self, limit: int = 200) -> int:
        """Send what the events since the stored position ask for; the events handled."""
        position = self._position()
        with self.db.transaction() as conn:
            batch = self.reader.read(conn, position, limit)
        for envelope in batch:
            if envelope.aggregate_type == "ill-request":
                self.handle(envelope)
            self._store_position(position_of(envelope))
        return len(batch)

    def run(self, stop: threading.Event, interval: float = 1.0) -> None:
        log.info("iso outbox started")
        with self.db.transaction() as conn:
            conn.execute("SELECT 1")
        while not stop.is_set():
            try:
                if self.run_once():
                    continue
            except Exception as exc:
                log.warning("iso outbox failed; retrying", error=repr(exc))
            stop.wait(interval)

    # -- one event ----------------------------------------------------------------------
    def handle(self, env: Envelope) -> None:
        name = env.type.split(".")[2]
        req = self.entry.requests.get_request(env.aggregate_id)
        built = self._build(name, env, req)
        if built is None:
            return
        peer, kind, message = built
        conv = self._conversation(req)
        if conv is not None and env.id in conv.sources:
            return  # sent and recorded before a crash
        self._send(req, peer, kind, message, env.id)

    def _conversation(self, req: IllRequest) -> IsoConversation | None:
        try:
            found: object = self.peers.store.repository.get(
                IsoConversation.id_for(IsoConversation.for_request(req.id))
            )
        except AggregateNotFoundError:
            return None
        return found if isinstance(found, IsoConversation) else None

    def _build(
        self, name: str, env: Envelope, req: IllRequest
    ) -> tuple[IsoPeer, str, bytes] | None:
        d = env.data
        ours = self.peers.agency_id_type
        by = (env.actor or {}).get("iso_peer")
        ts = _z(env.time.isoformat())
        # Our request, with an outside supplier.
        supplier = d.get("supplier") if name in ("SentToSupplier", "SupplierSkipped") else None
        supplier = supplier or req.supplier
        peer = self.peers.peer_or_none(supplier) if supplier else None
        if (
            peer is not None
            and self.peers.peer_or_none(req.requester) is None
            and by != peer.library
        ):
            h = Header(
                (peer.agency_id_type, peer.agency_id_value),
                (ours, req.requester),
                ts,
                str(req.id),
            )
            gen = peer.schema
            if name in ("SentToSupplier", "ConditionsAccepted"):
                work = self._work(req.work)
                return (
                    peer,
                    "request",
                    build_request(
                        gen,
                        h,
                        work=req.work,
                        title=work.title if work else "",
                        service_type=req.service_type.value,
                        request_type="New" if name == "SentToSupplier" else "Retry",
                        need_before=_z(req.needed_by.isoformat()) if req.needed_by else "",
                        author=work.creator if work else "",
                        isbns=tuple(self.isbns(req.work)),
                    ),
                )
            action = REQUESTER_SENDS.get(name)
            note = ""
            if name == "SupplierSkipped" and d.get("reason") in MOVED_ON:
                action, note = "Cancel", str(d["reason"])
            elif name == "NoteAdded" and d.get("party") == "requester":
                action, note = "Notification", str(d.get("note", ""))
            elif name == "StatusRequested":
                action = "StatusRequest"
            elif name == "CompletedWithoutReturn":  # our requester reported it lost
                action = "Lost"
            elif name == "ReturnHeld" and d.get("party") == "requester":
                action, note = "HoldReturn", str(d.get("note", ""))
            elif name == "ShippedForward":  # to another of our requests with this peer
                action = "ShippedForward"
                note = forward_note(ours, str(d["to_library"]), str(d["to_request"]))
            if action is None:
                return None
            if gen == "2017" and action in NOT_IN_2017:
                # (the supplier hears it as a note: for Lost, its librarian ends its loan)
                action, note = "Notification", " ".join(filter(None, (action, note)))
            note = note or str(d.get("reason") or "")
            return (
                peer,
                "requestingAgencyMessage",
                build_requesting(gen, h, action=action, note=note),
            )
        # An outside request, answered here.
        peer = self.peers.peer_or_none(req.requester)
        here = str(d.get("supplier") or req.supplier or "")  # (none once the rota ran out)
        if peer is None or not here or self.peers.peer_or_none(here):
            return None
        if by == peer.library and name != "StatusRequested":
            return None  # the peer's own doing: it knows
        conv = self._conversation(req)
        h = Header(
            (ours, here),
            (peer.agency_id_type, peer.agency_id_value),
            ts,
            conv.peer_request_id if conv else "",
            str(req.id),
        )
        fields: dict[str, str] = {}
        if name == "StatusRequested":
            reason, status = "StatusRequestResponse", _iso_status(req)
        elif name == "NoteAdded" and d.get("party") == "supplier":
            reason, status = "Notification", _iso_status(req)
            fields["note"] = str(d.get("note", ""))
        elif name in SUPPLIER_SENDS:
            reason, status = SUPPLIER_SENDS[name]
        else:
            return None
        if name in ("ReturnHeld", "ReturnHoldReleased"):
            fields["note"] = str(d.get("note", ""))
            if d.get("due_date"):  # (the release moved the due date: the peer hears it)
                fields["due_date"] = _z(d["due_date"])
            if peer.schema == "2017":  # no such status: a note, the status unchanged
                due = f"due {str(d['due_date'])[:10]}" if d.get("due_date") else ""
                fields["note"] = " ".join(filter(None, (status, fields["note"], due)))
                reason, status = "Notification", _iso_status(req)
                fields.pop("due_date", None)
        if name == "SupplierSkipped":
            fields["reason_unfilled"] = str(d.get("reason", "Other"))
        elif name == "ConditionsProposed":
            c = d.get("conditions") or {}
            fields.update(reason_retry=str(c.get("reason_retry", "")), note=str(c.get("note", "")))
            if c.get("kind") in ("LibraryUseOnly", "NoReproduction"):
                fields["condition"] = str(c["kind"])
            if c.get("cost"):
                fields["cost"] = str(c["cost"])
            if c.get("available_on"):
                fields["retry_after"] = _z(c["available_on"])
        elif name == "Loaned":
            fields.update(item_id=str(d.get("item_id", "")), due_date=_z(d["due_date"]))
        elif name == "CompletedWithoutReturn":
            fields["note"] = str(d.get("reason", ""))  # (the peer reads its reason there)
        elif name == "CancelAnswered":
            fields["answer"] = "Y" if d.get("accepted") else "N"
            status = "Cancelled" if d.get("accepted") else _before_cancel(req)
        elif name == "RenewAnswered":
            fields["answer"] = "Y" if d.get("accepted") else "N"
            status = "Loaned"
            if d.get("due_date"):
                fields["due_date"] = _z(d["due_date"])
        message = build_supplying(
            peer.schema, h, reason=reason, status=status, last_change=ts, **fields
        )
        return peer, "supplyingAgencyMessage", message

    def _work(self, code: str) -> Work | None:
        try:
            return aggregates.work(self.peers.store, code)
        except DomainError:
            return None

    def _send(self, req: IllRequest, peer: IsoPeer, kind: str, message: bytes, source: str) -> None:
        attempts, status, confirmation, error = 0, "", "", ""
        try:
            self.schemas.check(etree.ElementTree(etree.fromstring(message)), peer.schema)
        except ValueError as exc:
            error = f"not valid against the {peer.schema} schema, not sent: {exc}"
            log.error("iso message invalid", request=str(req.id), error=error)
        else:
            mutual = peer.auth == "mutual-tls"
            headers = {"Content-Type": "application/xml"}
            if not mutual:
                headers[SECRET_HEADER] = self.peers.secret_of(peer)
            try:
                verify = self._tls_for(peer)
                for attempt in Retrying(
                    retry=retry_if_exception(_transient),
                    wait=wait_exponential_jitter(multiplier=0.2, max=5),
                    stop=stop_after_delay(self.send_seconds),
                    reraise=True,
                ):
                    with attempt:
                        attempts += 1
                        response = self.post(
                            peer.url, content=message, headers=headers, timeout=10.0, verify=verify
                        )
                        if response.status_code >= 500 or response.status_code == 429:
                            response.raise_for_status()
                confirmation = response.text
                status, error_type, error_value = read_confirmation(response.content)
                if not status:  # no confirmation: refused before it was read (HTTP 401...)
                    error = f"HTTP {response.status_code}: {response.text[:300]}"
                elif status != "OK":
                    error = f"{error_type}: {error_value}"
            except NoClientCertificate as exc:
                error = str(exc)
                log.error("iso peer needs our client certificate", peer=peer.library, error=error)
            except (httpx.HTTPError, OSError) as exc:
                if _refused_certificate(exc):  # (revoked, expired, an unknown CA: not retried)
                    error = f"server certificate refused, not sent: {exc!r}"[:500]
                else:
                    error = f"unreachable after {attempts} attempts: {exc!r}"[:500]
                log.warning("iso peer unreachable", peer=peer.library, error=error)
        self.entry.act(
            ISO_OUTBOX,
            RecordIsoSent(
                req.id,
                peer.library,
                source,
                kind,
                message.decode(),
                confirmation,
                status,
                attempts,
                error,
            ),
        )
        self.sent += 1

    def _tls_for(self, peer: IsoPeer) -> ssl.SSLContext | bool:
        """How we connect to `peer`: presenting the client certificate named for it, else
        (mutual TLS) the network-wide one, else none."""
        if peer.client_identity:
            named = self.identities.get(peer.client_identity)
            if named is None:
                raise NoClientCertificate(
                    f"client certificate {peer.client_identity!r} is not configured here "
                    "(LIBSHARE_ISO18626_CLIENT_CERTS), not sent"
                )
            return named
        if peer.auth != "mutual-tls":
            return self.verify
        if self.identity is None:
            raise NoClientCertificate(
                "mutual TLS: no client certificate (LIBSHARE_ISO18626_CLIENT_CERT), not sent"
            )
        return self.identity


def _before_cancel(req: IllRequest) -> str:
    before = req.status_before_cancel
    return _ISO_STATUS.get(before, before.value) if before is not None else _iso_status(req)


# Our statuses that ISO 18626's supplier statuses do not have, as the supplier sees them.
_ISO_STATUS = {
    Status.RECEIVED: "Loaned",
    Status.SHIPPED_RETURN: "Loaned",
    Status.SHIPPED_FORWARD: "LoanCompleted",
}


def _iso_status(req: IllRequest) -> str:
    if req.status is Status.CANCEL_PENDING:
        return _before_cancel(req)
    return _ISO_STATUS.get(req.status, req.status.value)
