"""Transfers of stock between libraries (domain/transfer.py): each command changes the
transfer and the copies it moves in one transaction, so a copy is never in two places
and never lost between two saves. Dispatch and receipt each make a handover record (a
PDF, infra/handover_pdf.py) whose hash the event records; auditors render it again
from the events and compare. Commands with a client request id are answered once."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.access import Actor
from domain.copy import Copy, CopyStatus
from domain.errors import DomainError, InvalidInput, NotFound
from domain.shipment import Shipment
from domain.transfer import Transfer
from infra import handover_pdf
from infra.network_app import NetworkApp
from services import aggregates
from services.idempotency import Idempotency, Planned, command_fingerprint

# Called when a transfer closes or ends without moving (the rotations service): the
# aggregates it changes are saved in the same transaction.
TransferHook = Callable[[Transfer], Sequence[Aggregate]]


class TransfersService:
    def __init__(
        self,
        store: NetworkApp,
        idempotency: Idempotency,
        network_approval_above: int,
    ) -> None:
        self.store = store
        self.idempotency = idempotency
        self.network_approval_above = network_approval_above
        self.on_ended: list[TransferHook] = []
        self.on_found: list[Callable[[Transfer, str], Sequence[Aggregate]]] = []

    def get(self, transfer_id: UUID) -> Transfer:
        return aggregates.transfer(self.store, transfer_id)

    def parties(self, transfer_id: UUID) -> set[str]:
        """The libraries party to a transfer (none if there is no such transfer)."""
        try:
            return self.get(transfer_id).parties
        except NotFound:
            return set()

    def _run(
        self,
        actor: Actor,
        library: str,
        client_request_id: str | None,
        fingerprint: str,
        plan: Callable[[], Planned],
        current: Callable[[], dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        key = f"{library}:{client_request_id}" if client_request_id else None
        return self.idempotency.run(actor, key, fingerprint, plan, current)

    # -- proposing and approving ----------------------------------------------------------
    def new_transfer(
        self,
        *,
        transfer_id: UUID,
        sender: str,
        receiver: str,
        reason: str,
        copies: list[str],
        proposed_by: str,
        now: datetime,
        due_date: date | None = None,
        rotation_id: str = "",
        note: str = "",
    ) -> list[Aggregate]:
        """A proposed transfer and its copies, queued on it (not yet saved)."""
        sender = aggregates.library(self.store, sender).code
        receiver = aggregates.library(self.store, receiver).code
        transfer = Transfer.propose(
            transfer_id=transfer_id,
            sender=sender,
            receiver=receiver,
            reason=reason,
            copies=copies,
            proposed_by=proposed_by,
            now=now,
            network_approval_above=self.network_approval_above,
            due_date=due_date,
            rotation_id=rotation_id,
            note=note,
        )
        moved = self._copies(transfer.copies)
        for copy in moved:
            copy.queue_transfer(str(transfer.id), sender, receiver)
        return [transfer, *moved]

    def propose(
        self,
        actor: Actor,
        library: str,
        *,
        sender: str,
        receiver: str,
        reason: str,
        copies: list[str],
        due_date: date | None,
        note: str,
        client_request_id: str | None,
        now: datetime,
    ) -> dict[str, Any]:
        if library not in (sender.strip().upper(), receiver.strip().upper()):
            raise InvalidInput("your library proposes transfers from it or to it")
        key = f"{library}:{client_request_id}" if client_request_id else None
        transfer_id = (
            uuid.uuid5(uuid.NAMESPACE_URL, f"libshare:transfer:{key}") if key else uuid.uuid4()
        )
        fingerprint = command_fingerprint(
            "propose_transfer",
            sender=sender,
            receiver=receiver,
            reason=reason,
            copies=copies,
            due_date=due_date,
            note=note,
        )

        def plan() -> Planned:
            changed = self.new_transfer(
                transfer_id=transfer_id,
                sender=sender,
                receiver=receiver,
                reason=reason,
                copies=copies,
                proposed_by=library,
                now=now,
                due_date=due_date,
                note=note,
            )
            return changed, self.summary(changed[0])

        return self._run(actor, library, client_request_id, fingerprint, plan)

    def act(
        self,
        actor: Actor,
        transfer_id: UUID,
        party: str,
        action: str,
        params: dict[str, Any],
        client_request_id: str | None,
        now: datetime,
    ) -> dict[str, Any]:
        """One step of a transfer by `party` (its library, or NETWORK for the network
        administrator's approval)."""
        step = STEPS.get(action)
        if step is None:
            raise InvalidInput(f"no transfer action {action!r}; one of {sorted(STEPS)}")
        fingerprint = command_fingerprint(
            "transfer", transfer_id=transfer_id, action=action, params=params
        )

        def plan() -> Planned:
            transfer = self.get(transfer_id)
            changed = step(self, transfer, party, params, now)
            return [transfer, *changed], self.summary(transfer)

        return self._run(
            actor,
            party,
            client_request_id,
            fingerprint,
            plan,
            lambda: self.summary(self.get(transfer_id)),
        )

    def summary(self, aggregate: Aggregate) -> dict[str, Any]:
        assert isinstance(aggregate, Transfer)
        return aggregate.summary()

    # -- the steps --------------------------------------------------------------------------
    def _approve(
        self, t: Transfer, party: str, p: dict[str, Any], now: datetime
    ) -> list[Aggregate]:
        t.approve(party)
        return []

    def _reject(self, t: Transfer, party: str, p: dict[str, Any], now: datetime) -> list[Aggregate]:
        t.reject(party, str(p.get("reason") or ""))
        return self._release(t, "rejected")

    def _cancel(self, t: Transfer, party: str, p: dict[str, Any], now: datetime) -> list[Aggregate]:
        t.cancel(party, str(p.get("reason") or ""))
        return self._release(t, "cancelled")

    def _release(self, t: Transfer, why: str) -> list[Aggregate]:
        copies = self._copies(t.copies)
        for copy in copies:
            copy.leave_transfer(str(t.id), why)
        return [*copies, *self._ended(t)]

    def _pick(self, t: Transfer, party: str, p: dict[str, Any], now: datetime) -> list[Aggregate]:
        new = t.pick(party, list(p.get("copies") or []))
        copies = self._copies(new)
        for copy in copies:
            copy.pick(str(t.id), t.sender)
        return list(copies)

    def _drop(self, t: Transfer, party: str, p: dict[str, Any], now: datetime) -> list[Aggregate]:
        barcode = str(p.get("copy") or "")
        t.drop(party, barcode, str(p.get("reason") or ""))
        copy = aggregates.copy(self.store, barcode)
        copy.leave_transfer(str(t.id), "left out: " + t.dropped[copy.barcode])
        return [copy]

    def _dispatch(
        self, t: Transfer, party: str, p: dict[str, Any], now: datetime
    ) -> list[Aggregate]:
        given = list(p.get("shipments") or [])
        if not given:
            raise InvalidInput("a dispatch names its postal shipments (partner, waybill...)")
        shipments = [self._shipment(t, party, s) for s in given]
        copies = self._copies(t.to_send)
        record = self.handover(t, "dispatch", now, [(c.barcode, c.work, "") for c in copies])
        pdf = handover_pdf.render(record)
        content = handover_pdf.as_content(record)
        t.dispatch(party, [str(s.id) for s in shipments], handover_pdf.digest(pdf), now, content)
        for copy in copies:
            copy.dispatch(str(t.id), t.receiver)
        return [*copies, *shipments]

    def _shipment(self, t: Transfer, sender: str, s: dict[str, Any]) -> Shipment:
        partner = aggregates.partner(self.store, str(s.get("partner", "")))
        return Shipment.create(
            purpose="transfer",
            request_id=t.id,
            sender=sender,
            recipient=t.receiver,
            partner=partner.code,
            waybill=str(s.get("waybill", "")),
            parcels=list(s.get("parcels") or []),
            declared_postage=str(s.get("declared_postage", "0")),
        )

    def _receive(
        self, t: Transfer, party: str, p: dict[str, Any], now: datetime
    ) -> list[Aggregate]:
        received = {str(b): "" for b in p.get("copies") or []}
        received.update({str(d["copy"]): str(d["note"]) for d in p.get("damaged") or []})
        known_extras = set(t.extras)
        got = t.receive(party, received, list(p.get("extras") or []), now)
        copies = self._copies(list(got))
        for copy in copies:
            copy.receive(str(t.id), t.receiver, t.permanent, got[copy.barcode])
        return [*copies, *self._extras_arrived(t, [b for b in t.extras if b not in known_extras])]

    def _extras_arrived(self, t: Transfer, barcodes: list[str]) -> list[Aggregate]:
        """A registered copy that came in the box unlisted is at the receiver now: its
        own record says so (a check-in at the wrong library, domain/copy.py), unless
        its state forbids that (on an ILL loan...): then only the transfer records it."""
        arrived: list[Aggregate] = []
        for barcode in barcodes:
            try:
                copy = aggregates.copy(self.store, barcode)
                copy.check_in(t.receiver)
            except DomainError:
                continue
            arrived.append(copy)
        return arrived

    def _close(self, t: Transfer, party: str, p: dict[str, Any], now: datetime) -> list[Aggregate]:
        outstanding = self._copies(t.outstanding)
        elsewhere = {
            c.barcode: c.holder for c in outstanding if c.status is not CopyStatus.IN_TRANSIT
        }
        lines = [(b, "", cond) for b, cond in t.received.items()]
        lines += [(c.barcode, c.work, "thiếu") for c in outstanding]
        lines += [(b, "", "thừa") for b in t.extras]
        record = self.handover(t, "receipt", now, lines)
        pdf = handover_pdf.render(record)
        content = handover_pdf.as_content(record)
        t.close(party, handover_pdf.digest(pdf), elsewhere, now, content)
        for copy in outstanding:
            if copy.barcode in elsewhere:
                copy.leave_transfer(str(t.id), f"turned up at {elsewhere[copy.barcode]}")
            else:
                copy.go_missing_in_transit(str(t.id))
        return [*outstanding, *self._ended(t)]

    def _found(self, t: Transfer, party: str, p: dict[str, Any], now: datetime) -> list[Aggregate]:
        barcode = str(p.get("copy") or "")
        t.missing_found(party, barcode, now)
        copy = aggregates.copy(self.store, barcode)
        copy.found(t.receiver, str(t.id), owner=t.receiver if t.permanent else None)
        return [copy, *(changed for hook in self.on_found for changed in hook(t, copy.barcode))]

    def _ended(self, t: Transfer) -> list[Aggregate]:
        return [changed for hook in self.on_ended for changed in hook(t)]

    # -- helpers -----------------------------------------------------------------------------
    def _copies(self, barcodes: list[str]) -> list[Copy]:
        return [aggregates.copy(self.store, b) for b in barcodes]

    def handover(
        self, t: Transfer, stage: str, at: datetime, lines: list[tuple[str, str, str]]
    ) -> handover_pdf.HandoverRecord:
        """The handover record of a dispatch or a receipt: each line a barcode, its work
        (looked up if empty) and what was noted."""
        titles: dict[str, str] = {}

        def title(barcode: str, work: str) -> str:
            if not work:
                try:
                    work = aggregates.copy(self.store, barcode).work
                except NotFound:  # an extra in the box that is no registered copy
                    return "(không có trong danh mục)"
            code = work
            if code not in titles:
                titles[code] = aggregates.work(self.store, code).title
            return titles[code]

        sender = aggregates.library(self.store, t.sender)
        receiver = aggregates.library(self.store, t.receiver)
        return handover_pdf.HandoverRecord(
            transfer_id=str(t.id),
            stage=stage,
            at=at,
            sender_code=sender.code,
            sender_name=sender.name,
            receiver_code=receiver.code,
            receiver_name=receiver.name,
            reason=t.reason.value,
            due_date=t.due_date,
            copies=tuple(
                handover_pdf.HandoverCopy(barcode=b, title=title(b, w), note=note)
                for b, w, note in lines
            ),
        )

    def handover_record(self, transfer_id: UUID, stage: str) -> tuple[bytes, bool]:
        """The handover record rendered again from what its event says, and whether it
        is byte for byte the record whose hash the event recorded."""
        t = self.get(transfer_id)
        content = t.handover_content.get(stage)
        if stage not in t.handovers or not content:
            raise NotFound(f"transfer {transfer_id} has no {stage} record")
        pdf = handover_pdf.render(handover_pdf.from_content(content))
        return pdf, handover_pdf.digest(pdf) == t.handovers[stage]

    # -- the carrier ---------------------------------------------------------------------------
    def parcel_delivered(self, shipment: Shipment) -> list[Aggregate]:
        """The delivery policy for a transfer's shipment: the transfer records it."""
        delivered = shipment.delivered
        if delivered is None:
            return []
        t = self.get(UUID(shipment.request_id))
        new = t.parcel_delivered(str(shipment.id), delivered["at"], delivered["signer"])
        return [t] if new else []


Step = Callable[[TransfersService, Transfer, str, dict[str, Any], datetime], list[Aggregate]]
STEPS: dict[str, Step] = {
    "approve": TransfersService._approve,
    "reject": TransfersService._reject,
    "cancel": TransfersService._cancel,
    "pick": TransfersService._pick,
    "drop": TransfersService._drop,
    "dispatch": TransfersService._dispatch,
    "receive": TransfersService._receive,
    "close": TransfersService._close,
    "found": TransfersService._found,
}
