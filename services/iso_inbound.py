"""ISO 18626 messages from an outside peer, applied through the requests service as the
API's actions are (ADR 0028): a `request` opens a request whose rota is our library it
names; a `supplyingAgencyMessage` is the peer's answer as the supplier of our request; a
`requestingAgencyMessage` is the peer's action as the requester of its request with us.
Each is answered at once with its confirmation: OK, or ERROR with the errorType and the
offending value, and then nothing changed. The message and its confirmation are kept
verbatim (domain/iso_conversation.py), in the transaction of what the message did. A
retry (the same header ids and timestamp) answers as the first did and records nothing."""

from __future__ import annotations

import contextlib
import hashlib
import re
import uuid
from collections.abc import Callable
from datetime import date, datetime
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import Aggregate

from domain.access import Actor
from domain.errors import Conflict, DomainError, IllegalTransition, NotFound
from domain.ill_request import IllRequest
from domain.ill_status import BEFORE_SHIPPING, REASONS_UNFILLED, Status
from domain.iso_conversation import IsoConversation
from domain.iso_peer import IsoAgency
from infra.iso18626_xml import Message, Refused, build_confirmation
from infra.network_app import NetworkApp
from services.idempotency import Idempotency, Planned, command_fingerprint
from services.iso_lookup import check_held, find_work
from services.requests import PEER_OVERDUE, RequestsService, request_summary

# A supplier's status (StatusChange or RequestResponse) -> our ISO action; None: noted only.
STATUS_ACTIONS: dict[str, str | None] = {
    "ExpectToSupply": "ExpectToSupply",
    "WillSupply": "WillSupply",
    "RetryPossible": "RetryPossible",
    "Unfilled": "Unfilled",
    "Loaned": "Loaned",
    "CopyCompleted": "CopyCompleted",
    "Recalled": "Recalled",
    "LoanCompleted": "LoanCompleted",
    "CompletedWithoutReturn": "CompletedWithoutReturn",
    "Overdue": PEER_OVERDUE,  # its system says so (our timers too, from our due date)
    "HoldReturn": "HoldReturn",  # 2021: keep the item for now, do not send it back
    "ReleaseHoldReturn": "ReleaseHoldReturn",
    "RequestReceived": None,
    "Cancelled": None,  # a Cancel is answered by CancelResponse
}
# A requester's action -> ours (Lost: the loan ends CompletedWithoutReturn, reason Lost).
REQUESTER_ACTIONS = {
    "Cancel": "Cancel",
    "Received": "Received",
    "Renew": "Renew",
    "ShippedReturn": "ShippedReturn",
    "Notification": "Notification",
    "StatusRequest": "StatusRequest",
    "Lost": "Lost",
    "ShippedForward": "ShippedForward",
    "HoldReturn": "HoldReturn",
}
RETRY_CONDITIONS = {
    "LoanCondition": "LibraryUseOnly",
    "CostExceedsMaxCost": "Cost",
    "NotCurrentAvailableForILL": "LaterDate",
}
RACES = 3  # attempts of a message that lost a race on its request or conversation
NOT_FOUND = "requestingAgencyRequestId: request with a given ID not found"
# A ShippedForward's note names the request the item went on to: its requesting agency
# and that agency's request id (ISO 18626 has no element for it; ADR 0028).
FORWARD_NOTE = re.compile(r"forwarded to (?P<type>[^\s:]+):(?P<value>\S+) request (?P<id>\S+)")


def forward_note(agency_id_type: str, agency_id_value: str, request_id: str) -> str:
    """The note of a ShippedForward we send: where the item went (FORWARD_NOTE)."""
    return f"forwarded to {agency_id_type}:{agency_id_value} request {request_id}"


def peer_request_id(peer: str, their_id: str) -> UUID:
    """Our id of the request an outside peer made under its id `their_id`."""
    return uuid.uuid5(uuid.NAMESPACE_URL, f"libshare:iso-request:{peer}:{their_id}")


def _client_id(msg: Message) -> str:
    h = msg.header
    parts = [msg.kind, h["requesting_request_id"], h["supplying_request_id"], h["timestamp"]]
    return "iso:" + hashlib.sha256("|".join(parts).encode()).hexdigest()[:40]


def _day(value: str) -> date | None:
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).date() if value else None
    except ValueError:
        raise Refused("UnrecognisedDataValue", f"date {value!r} is not an xs:dateTime") from None


def _due(values: dict[str, str]) -> dict[str, str]:
    """The peer's dueDate, as our due date (the date as the peer wrote it), if it gave one."""
    due = _day(values.get("due_date", ""))
    return {"due_date": due.isoformat()} if due is not None else {}


class IsoInbound:
    def __init__(
        self, store: NetworkApp, requests: RequestsService, idempotency: Idempotency
    ) -> None:
        self.store = store
        self.requests = requests
        self.idempotency = idempotency

    def conversation(self, subject: str, peer: str, peer_request: str = "") -> IsoConversation:
        try:
            found: object = self.store.repository.get(IsoConversation.id_for(subject))
        except AggregateNotFoundError:
            return IsoConversation.open(subject, peer, peer_request)
        assert isinstance(found, IsoConversation)
        return found

    def apply(
        self, actor: Actor, peer: str, supplier: str | None, msg: Message, raw: str, now: datetime
    ) -> bytes:
        """Apply `msg` from `peer` (to our library `supplier` where it names one) and
        answer with its confirmation."""
        at = now.isoformat().replace("+00:00", "Z")
        echo = msg.values.get("reason" if msg.kind == "supplyingAgencyMessage" else "action", "")
        ok = build_confirmation(msg.generation, msg.kind, msg.header, received_at=at, echo=echo)

        def kept(req: IllRequest, their: str = "") -> list[Aggregate]:
            conv = self.conversation(IsoConversation.for_request(req.id), peer, their)
            conv.received(at, msg.kind, raw, ok.decode(), "OK")
            return [conv]

        try:
            self._apply_racing(actor, peer, supplier, msg, now, kept)
            return ok
        except Refused as refused:
            error = refused
        except IllegalTransition as exc:
            kind = "UnsupportedActionType" if msg.kind != "supplyingAgencyMessage" else None
            error = Refused(kind or "UnrecognisedDataValue", f"{echo or msg.kind}: {exc}")
        except DomainError as exc:
            error = Refused("UnrecognisedDataValue", str(exc)[:300])
        refusal = build_confirmation(
            msg.generation, msg.kind, msg.header, received_at=at, error=error, echo=echo
        )
        self.keep_refused(actor, peer, msg, raw, refusal, error, at)
        return refusal

    def _apply_racing(
        self,
        actor: Actor,
        peer: str,
        supplier: str | None,
        msg: Message,
        now: datetime,
        kept: Callable[..., list[Aggregate]],
    ) -> None:
        """Apply `msg`; once more if it lost a race on the request or its conversation
        (the outbox records what it sent on the same conversation): the retry has the same
        key, so a first attempt that did save is answered, not done twice."""
        for attempt in range(RACES):
            try:
                if msg.kind == "request":
                    self._request(actor, peer, supplier, msg, now, kept)
                elif msg.kind == "supplyingAgencyMessage":
                    self._supplying(actor, peer, msg, now, kept)
                else:
                    self._requesting(actor, peer, msg, now, kept)
                return
            except Conflict:
                if attempt == RACES - 1:
                    raise

    def keep_refused(
        self,
        actor: Actor,
        peer: str,
        msg: Message | None,
        raw: str,
        refusal: bytes,
        error: Refused,
        at: str,
    ) -> None:
        """Keep a refused message: on its request's conversation if it names one of ours
        that the peer is party to, else on the peer's."""
        subject = IsoConversation.for_peer(peer)
        req = self._named(peer, msg) if msg is not None else None
        if req is not None:
            subject = IsoConversation.for_request(req.id)
        conv = self.conversation(subject, peer)
        conv.received(at, msg.kind if msg else "", raw, refusal.decode(), "ERROR", error.value)
        # (another message kept first: this one's refusal was answered all the same)
        with contextlib.suppress(DomainError):
            self.store.record(conv, actor=actor)

    def _named(self, peer: str, msg: Message) -> IllRequest | None:
        h = msg.header
        ids = [h["requesting_request_id"]] if msg.kind == "supplyingAgencyMessage" else []
        ids.append(str(peer_request_id(peer, h["requesting_request_id"])))
        for candidate in ids:
            try:
                req = self.requests.get_request(UUID(candidate))
            except (ValueError, NotFound):
                continue
            if peer in (req.requester, req.supplier):
                return req
        return None

    # -- a request from the peer --------------------------------------------------------
    def _request(
        self,
        actor: Actor,
        peer: str,
        supplier: str | None,
        msg: Message,
        now: datetime,
        kept: Callable[..., list[Aggregate]],
    ) -> None:
        their = msg.header["requesting_request_id"]
        if not their:
            raise Refused("UnrecognisedDataValue", "requestingAgencyRequestId: cannot be empty")
        if supplier is None:
            raise Refused(
                "UnrecognisedDataValue", "supplyingAgencyId: supplying agency not found or invalid"
            )
        request_id = peer_request_id(peer, their)
        request_type = msg.values.get("request_type", "New")
        if request_type == "Retry":  # the requester takes the conditions offered
            self._act(actor, peer, request_id, "AcceptConditions", {}, msg, now, kept)
            return
        if request_type == "Reminder":
            self.requests.get_request(request_id)
            raise Refused("UnsupportedActionType", "requestType: Reminder is not acted on")
        work = find_work(self.store, msg)
        check_held(
            self.store,
            work,
            supplier,
            lambda: [c.library for c in self.requests.candidates(work.code) if c.library != peer],
        )
        service = msg.values.get("service_type", "Loan")
        service = "Loan" if service == "CopyOrLoan" else service
        needed_by = _day(msg.values.get("need_before", ""))
        if needed_by is not None and needed_by < now.date():
            needed_by = None  # a date passed already: we ignore it, as ISO's is advisory
        key = f"{peer}:{_client_id(msg)}"
        fingerprint = command_fingerprint("iso-request", peer=peer, their=their, work=work.code)

        def plan() -> Planned:
            try:
                self.requests.get_request(request_id)
            except NotFound:
                pass
            else:
                raise Refused(
                    "UnrecognisedDataValue",
                    f"requestingAgencyRequestId: a request {their!r} exists already",
                )
            req = IllRequest.request(
                request_id=request_id,
                requester=peer,
                work=work.code,
                reader_ref=msg.values.get("patron", f"ISO:{peer}")[:64],
                service_type=service,
                needed_by=needed_by,
                rota=[{"library": supplier, "reason": f"asked over ISO 18626 by {peer}"}],
                now=now,
                answer_hours=self.requests.answer_hours_of([supplier]),
            )
            return [req, *kept(req, their)], request_summary(req)

        self.idempotency.run(actor, key, fingerprint, plan)

    # -- the peer answers as the supplier of our request --------------------------------
    def _supplying(
        self,
        actor: Actor,
        peer: str,
        msg: Message,
        now: datetime,
        kept: Callable[..., list[Aggregate]],
    ) -> None:
        try:
            request_id = UUID(msg.header["requesting_request_id"])
            req = self.requests.get_request(request_id)
        except (ValueError, NotFound):
            raise Refused("UnrecognisedDataValue", NOT_FOUND) from None
        if req.supplier != peer or req.requester == peer:
            raise Refused(
                "UnrecognisedDataValue", "supplyingAgencyId: supplying agency not found or invalid"
            )
        v = msg.values
        reason, status = v.get("reason", ""), v.get("status", "")
        params: dict[str, Any] = {"note": v["note"]} if v.get("note") else {}
        if reason in ("CancelResponse", "RenewResponse"):
            action: str | None = reason
            params["answer"] = v.get("answer", "N")
            if reason == "RenewResponse" and params["answer"] == "Y":
                params.update(_due(v))
        elif reason == "Notification":
            action = "Notification"
            params.setdefault("note", "(no note)")
        elif reason == "StatusRequestResponse":
            action = None
        else:
            action = STATUS_ACTIONS.get(status)
        if action == "Unfilled":
            given = v.get("reason_unfilled", "")
            params["reason"] = given if given in REASONS_UNFILLED else "Other"
        elif action == "Loaned":
            params["item_id"] = v.get("item_id") or f"{peer}:{msg.header['requesting_request_id']}"
            params["outside_item"] = True
            params.update(_due(v))
        elif action == "ReleaseHoldReturn":  # (its dueDate, if it moved it: ours too)
            params.update(_due(v))
        elif action == "RetryPossible":
            kind = v.get("loan_condition", "")
            if kind not in ("LibraryUseOnly", "NoReproduction"):
                kind = RETRY_CONDITIONS.get(v.get("reason_retry", ""), "LibraryUseOnly")
            params["condition"] = kind
            if kind == "Cost":
                params["cost"] = v.get("cost") or v.get("cost_2017") or "0"
            if kind == "LaterDate":
                later = _day(v.get("retry_after") or v.get("retry_after_2017") or "")
                params["available_on"] = (later or now.date()).isoformat()
        elif action in ("CompletedWithoutReturn",):
            params.setdefault("reason", v.get("note", "CompletedWithoutReturn"))
        if action is None or _known_already(req, action, params):
            self._noted(actor, req, msg, kept)
            return
        self._act(actor, peer, req.id, action, params, msg, now, kept)

    # -- the peer acts as the requester of its request with us ---------------------------
    def _requesting(
        self,
        actor: Actor,
        peer: str,
        msg: Message,
        now: datetime,
        kept: Callable[..., list[Aggregate]],
    ) -> None:
        their = msg.header["requesting_request_id"]
        try:
            req = self.requests.get_request(peer_request_id(peer, their))
        except NotFound:
            raise Refused("UnrecognisedDataValue", NOT_FOUND) from None
        if req.requester != peer:
            raise Refused("UnrecognisedDataValue", "requestingAgencyId: not this request's")
        given = msg.values.get("action", "")
        action = REQUESTER_ACTIONS.get(given)
        if action is None:
            raise Refused("UnsupportedActionType", f"action: {given} is not supported here")
        params: dict[str, Any] = {"note": msg.values["note"]} if msg.values.get("note") else {}
        library = peer
        if action == "Notification":
            params.setdefault("note", "(no note)")
        if action == "Cancel":
            params.setdefault("reason", msg.values.get("note", ""))
        if action == "ShippedForward":
            params["to_request"] = str(self._forwarded_to(msg.values.get("note", "")))
        self._act(actor, library, req.id, action, params, msg, now, kept)

    def _forwarded_to(self, note: str) -> UUID:
        """Our id of the request a peer's ShippedForward names in its note (FORWARD_NOTE):
        that agency's request with us."""
        found = FORWARD_NOTE.search(note)
        if found is None:
            raise Refused(
                "UnrecognisedDataValue",
                "note: a ShippedForward names the request the item went on to "
                "('forwarded to TYPE:VALUE request ID')",
            )
        try:
            agency: object = self.store.repository.get(
                IsoAgency.id_for(found["type"], found["value"])
            )
        except AggregateNotFoundError:
            raise Refused(
                "UnrecognisedDataValue",
                f"note: agency {found['type']}:{found['value']} not found",
            ) from None
        assert isinstance(agency, IsoAgency)
        return peer_request_id(agency.library, found["id"])

    def _act(
        self,
        actor: Actor,
        library: str,
        request_id: UUID,
        action: str,
        params: dict[str, Any],
        msg: Message,
        now: datetime,
        kept: Callable[..., list[Aggregate]],
    ) -> None:
        self.requests.take_action(
            actor,
            request_id,
            library=library,
            action=action,
            params=params,
            client_request_id=_client_id(msg),
            now=now,
            also=kept,
        )

    def _noted(
        self, actor: Actor, req: IllRequest, msg: Message, kept: Callable[..., list[Aggregate]]
    ) -> None:
        """A message that changes nothing of ours (a status we follow by our own timers):
        kept, and answered OK."""
        self.store.record(*kept(req), actor=actor)


def _known_already(req: IllRequest, action: str, params: dict[str, Any]) -> bool:
    """A supplier's status that says what our request shows already: kept and answered
    OK, nothing recorded (never marked twice). Overdue when our timer marked it first;
    Loaned for the item that came to us forwarded (ShippedForward) from another of our
    requests; a hold on the return it holds already."""
    if action == PEER_OVERDUE:
        return req.status is Status.OVERDUE
    if action == "Loaned":
        return req.status not in BEFORE_SHIPPING and req.item_id == params.get("item_id")
    if action == "HoldReturn":
        return req.return_held == "supplier"
    return False
