"""A transfer of copies from one library to another: for good (manual, reorganisation),
back to their owner (return home, recall), or for a period (a rotation stage, a deposit).
Proposed by either side (or by the copies' owner for a rotation stage), approved by every
other party to it and, above a size the network sets, by the network administrator;
picked copy by copy, dispatched in one or more postal shipments with a handover record,
received copy by copy with what was damaged or extra, and closed: what never arrived is
missing in transit, and may be found later. The copies themselves (domain/copy.py) move
with the transfer's events, in the same transaction (services/transfers.py)."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.copy import barcode_of
from domain.errors import IllegalTransition, InvalidInput, NotYourTurn
from domain.text import note_text, one_line

MAX_COPIES = 5000
HANDOVER_HASH = "sha256:"


class Reason(StrEnum):
    MANUAL = "manual"
    ROTATION = "rotation"
    DEPOSIT = "deposit"
    RETURN_HOME = "return_home"
    RECALL = "recall"
    REORGANISATION = "reorganisation"


# Ownership moves to the receiver on receipt; other transfers leave it with the owner.
PERMANENT = frozenset({Reason.MANUAL, Reason.REORGANISATION})
TEMPORARY = frozenset({Reason.ROTATION, Reason.DEPOSIT})  # they have a due date


class TransferStatus(StrEnum):
    PROPOSED = "proposed"
    APPROVED = "approved"
    IN_TRANSIT = "in_transit"
    CLOSED = "closed"
    CANCELLED = "cancelled"
    REJECTED = "rejected"


OPEN = frozenset({TransferStatus.PROPOSED, TransferStatus.APPROVED, TransferStatus.IN_TRANSIT})
BEFORE_DISPATCH = frozenset({TransferStatus.PROPOSED, TransferStatus.APPROVED})
NETWORK = "network"  # the network administrator, as an approving party


def _transition(command: str, status: TransferStatus, allowed: frozenset[TransferStatus]) -> None:
    if status not in allowed:
        raise IllegalTransition(command, status.value, [s.value for s in allowed], "transfer")


class Transfer(Aggregate):
    TYPE_NAME = "transfer"

    class Proposed(Aggregate.Created):
        sender: str
        receiver: str
        reason: str
        copies: list[str]
        proposed_by: str
        approvals_needed: list[str]
        due_date: date | None
        rotation_id: str
        note: str
        proposed_at: datetime

    def __init__(
        self,
        sender: str,
        receiver: str,
        reason: str,
        copies: list[str],
        proposed_by: str,
        approvals_needed: list[str],
        due_date: date | None,
        rotation_id: str,
        note: str,
        proposed_at: datetime,
    ) -> None:
        self.sender = sender
        self.receiver = receiver
        self.reason = Reason(reason)
        self.copies = list(copies)
        self.proposed_by = proposed_by
        self.approvals_needed = list(approvals_needed)
        self.approved_by: list[str] = []
        self.due_date = due_date
        self.rotation_id = rotation_id
        self.note = note
        self.proposed_at = proposed_at
        self.status = TransferStatus.PROPOSED
        self.picked: list[str] = []
        self.dropped: dict[str, str] = {}
        self.sent: list[str] = []
        self.shipments: list[str] = []
        self.deliveries: list[str] = []
        self.received: dict[str, str] = {}  # barcode -> condition noted ("" when fine)
        self.extras: list[str] = []
        self.missing: list[str] = []
        self.elsewhere: dict[str, str] = {}  # barcode -> the library it turned up at
        self.found: dict[str, str] = {}
        self.handovers: dict[str, str] = {}  # stage -> "sha256:..."
        self.handover_content: dict[str, dict[str, Any]] = {}  # stage -> what it says
        self.dispatched_at: datetime | None = None
        self.closed_at: datetime | None = None

    @classmethod
    def propose(
        cls,
        *,
        transfer_id: UUID,
        sender: str,
        receiver: str,
        reason: str,
        copies: list[str],
        proposed_by: str,
        now: datetime,
        network_approval_above: int,
        due_date: date | None = None,
        rotation_id: str = "",
        note: str = "",
    ) -> Transfer:
        if sender == receiver:
            raise InvalidInput("a transfer goes from one library to another")
        if reason not in {r.value for r in Reason}:
            raise InvalidInput(f"reason {reason!r} is not one of {[r.value for r in Reason]}")
        barcodes = [barcode_of(b) for b in copies]
        if not barcodes or len(barcodes) > MAX_COPIES:
            raise InvalidInput(f"a transfer names 1 to {MAX_COPIES} copies")
        if len(set(barcodes)) != len(barcodes):
            raise InvalidInput("a transfer names each copy once")
        if Reason(reason) in TEMPORARY:
            if due_date is None or due_date <= now.date():
                raise InvalidInput(f"a {reason} transfer needs a due date after today")
        elif due_date is not None:
            raise InvalidInput(f"a {reason} transfer has no due date")
        needed = [lib for lib in (sender, receiver) if lib != proposed_by]
        if len(barcodes) > network_approval_above:
            needed.append(NETWORK)
        return cls._create(
            cls.Proposed,
            id=transfer_id,
            sender=sender,
            receiver=receiver,
            reason=reason,
            copies=barcodes,
            proposed_by=proposed_by,
            approvals_needed=needed,
            due_date=due_date,
            rotation_id=rotation_id,
            note=note_text(note),
            proposed_at=now,
        )

    # -- who ----------------------------------------------------------------------------------
    @property
    def permanent(self) -> bool:
        return self.reason in PERMANENT

    @property
    def parties(self) -> set[str]:
        return {self.sender, self.receiver, self.proposed_by}

    def _as(self, library: str, side: str, command: str) -> None:
        expected = self.sender if side == "sender" else self.receiver
        if library != expected:
            raise NotYourTurn(f"only the {side} {expected} may {command} on this transfer")

    @property
    def waiting_for(self) -> list[str]:
        return [p for p in self.approvals_needed if p not in self.approved_by]

    @property
    def to_send(self) -> list[str]:
        return [b for b in self.copies if b not in self.dropped]

    @property
    def unpicked(self) -> list[str]:
        return [b for b in self.to_send if b not in self.picked]

    # -- approving ----------------------------------------------------------------------------
    def approve(self, party: str) -> bool:
        """`party` (a library, or NETWORK) approves; False if it had already."""
        _transition("Approve", self.status, frozenset({TransferStatus.PROPOSED}))
        if party in self.approved_by:
            return False
        if party not in self.approvals_needed:
            raise NotYourTurn(
                f"{party} need not approve this transfer (waiting for: "
                f"{', '.join(self.waiting_for) or 'nobody'})"
            )
        self._approved(party=party, complete=len(self.waiting_for) == 1)
        return True

    @event("Approved")
    def _approved(self, party: str, complete: bool) -> None:
        self.approved_by = [*self.approved_by, party]
        if complete:
            self.status = TransferStatus.APPROVED

    def reject(self, party: str, reason: str) -> None:
        _transition("Reject", self.status, frozenset({TransferStatus.PROPOSED}))
        if party not in self.approvals_needed:
            raise NotYourTurn(f"{party} is not asked to approve this transfer")
        self._rejected(party=party, reason=one_line(reason, "a rejection's reason", 500))

    @event("Rejected")
    def _rejected(self, party: str, reason: str) -> None:
        self.status = TransferStatus.REJECTED

    def cancel(self, library: str, reason: str) -> None:
        if library not in self.parties:
            raise NotYourTurn(f"{library} is not a party to this transfer")
        _transition("Cancel", self.status, BEFORE_DISPATCH)
        self._cancelled(library=library, reason=one_line(reason, "a cancellation's reason", 500))

    @event("Cancelled")
    def _cancelled(self, library: str, reason: str) -> None:
        self.status = TransferStatus.CANCELLED

    # -- picking and dispatching ----------------------------------------------------------
    def pick(self, library: str, barcodes: list[str]) -> list[str]:
        """The sender has these copies in the box; returns those newly picked."""
        self._as(library, "sender", "pick copies")
        _transition("Pick", self.status, frozenset({TransferStatus.APPROVED}))
        codes = [barcode_of(b) for b in barcodes]
        unknown = [b for b in codes if b not in self.to_send]
        if unknown:
            raise InvalidInput(f"not on this transfer's list: {', '.join(unknown)}")
        new = [b for b in dict.fromkeys(codes) if b not in self.picked]
        if new:
            self._picked(copies=new)
        return new

    @event("CopiesPicked")
    def _picked(self, copies: list[str]) -> None:
        self.picked = [*self.picked, *copies]

    def drop(self, library: str, barcode: str, reason: str) -> None:
        """The sender leaves a copy out (on loan, damaged, not found on the shelf)."""
        self._as(library, "sender", "leave a copy out")
        _transition("Drop", self.status, BEFORE_DISPATCH)
        code = barcode_of(barcode)
        if code not in self.to_send:
            raise InvalidInput(f"copy {code} is not (or no longer) on this transfer's list")
        if len(self.to_send) == 1:
            raise InvalidInput("the last copy cannot be left out: cancel the transfer instead")
        self._dropped(barcode=code, reason=one_line(reason, "why the copy is left out", 500))

    @event("CopyDropped")
    def _dropped(self, barcode: str, reason: str) -> None:
        self.dropped = {**self.dropped, barcode: reason}
        self.picked = [b for b in self.picked if b != barcode]

    def dispatch(
        self,
        library: str,
        shipments: list[str],
        handover_sha256: str,
        now: datetime,
        handover: dict[str, Any] | None = None,
    ) -> None:
        """`handover`: the content of the signed record (what it says), kept with its
        hash so that it renders again the same whatever changes later."""
        self._as(library, "sender", "dispatch")
        _transition("Dispatch", self.status, frozenset({TransferStatus.APPROVED}))
        if self.unpicked:
            raise InvalidInput(
                f"{len(self.unpicked)} copies are not picked yet: pick them or leave them "
                f"out ({', '.join(self.unpicked[:5])}...)"
            )
        if not shipments:
            raise InvalidInput("a dispatch goes in one or more postal shipments")
        _check_hash(handover_sha256)
        self._dispatched(
            copies=self.to_send,
            shipments=shipments,
            handover_sha256=handover_sha256,
            handover=handover or {},
            dispatched_at=now,
        )

    @event("Dispatched")
    def _dispatched(
        self,
        copies: list[str],
        shipments: list[str],
        handover_sha256: str,
        handover: dict[str, Any],
        dispatched_at: datetime,
    ) -> None:
        self.status = TransferStatus.IN_TRANSIT
        self.sent = list(copies)
        self.shipments = list(shipments)
        self.handovers = {**self.handovers, "dispatch": handover_sha256}
        self.handover_content = {**self.handover_content, "dispatch": handover}
        self.dispatched_at = dispatched_at

    def parcel_delivered(self, shipment_id: str, delivered_at: datetime, signer: str) -> bool:
        """A carrier reported one of this transfer's shipments delivered (recorded once)."""
        if shipment_id in self.deliveries or shipment_id not in self.shipments:
            return False
        self._parcel_delivered(shipment_id=shipment_id, delivered_at=delivered_at, signer=signer)
        return True

    @event("ParcelDelivered")
    def _parcel_delivered(self, shipment_id: str, delivered_at: datetime, signer: str) -> None:
        self.deliveries = [*self.deliveries, shipment_id]

    # -- receiving ----------------------------------------------------------------------------
    def receive(
        self, library: str, received: dict[str, str], extras: list[str], now: datetime
    ) -> dict[str, str]:
        """The receiver unpacks: `received` maps each barcode to what it noted ("" when
        fine, e.g. "hư hỏng" when damaged); barcodes not on the list are extras. Returns
        the newly received copies (a repeat changes nothing)."""
        self._as(library, "receiver", "receive copies")
        _transition("Receive", self.status, frozenset({TransferStatus.IN_TRANSIT}))
        got: dict[str, str] = {}
        for raw, condition in received.items():
            code = barcode_of(raw)
            if code not in self.sent:
                raise InvalidInput(f"copy {code} was not sent on this transfer: list it as extra")
            if code not in self.received:
                got[code] = note_text(condition, "a copy's condition", 200)
        more = [barcode_of(b) for b in extras]
        more = [b for b in dict.fromkeys(more) if b not in self.extras]
        sent_extra = [b for b in more if b in self.sent]
        if sent_extra:
            raise InvalidInput(f"on the list, so not extra: {', '.join(sent_extra)}")
        if got or more:
            self._copies_received(
                copies=[{"barcode": b, "condition": c} for b, c in got.items()],
                extras=more,
                received_at=now,
            )
        return got

    @event("CopiesReceived")
    def _copies_received(
        self, copies: list[dict[str, str]], extras: list[str], received_at: datetime
    ) -> None:
        self.received = {**self.received, **{c["barcode"]: c["condition"] for c in copies}}
        self.extras = [*self.extras, *extras]

    @property
    def outstanding(self) -> list[str]:
        return [b for b in self.sent if b not in self.received]

    def close(
        self,
        library: str,
        handover_sha256: str,
        elsewhere: dict[str, str],
        now: datetime,
        handover: dict[str, Any] | None = None,
    ) -> None:
        """The receiver signs the receipt: copies not received are missing in transit,
        except those that turned up at another library (`elsewhere`)."""
        self._as(library, "receiver", "close the transfer")
        _transition("Close", self.status, frozenset({TransferStatus.IN_TRANSIT}))
        _check_hash(handover_sha256)
        missing = [b for b in self.outstanding if b not in elsewhere]
        self._closed(
            missing=missing,
            elsewhere={b: elsewhere[b] for b in self.outstanding if b in elsewhere},
            handover_sha256=handover_sha256,
            handover=handover or {},
            closed_at=now,
        )

    @event("Closed")
    def _closed(
        self,
        missing: list[str],
        elsewhere: dict[str, str],
        handover_sha256: str,
        handover: dict[str, Any],
        closed_at: datetime,
    ) -> None:
        self.status = TransferStatus.CLOSED
        self.missing = list(missing)
        self.elsewhere = dict(elsewhere)
        self.handovers = {**self.handovers, "receipt": handover_sha256}
        self.handover_content = {**self.handover_content, "receipt": handover}
        self.closed_at = closed_at

    def missing_found(self, library: str, barcode: str, now: datetime) -> None:
        """A copy missing in transit turned up at the receiver after all."""
        self._as(library, "receiver", "record a missing copy found")
        _transition("MissingCopyFound", self.status, frozenset({TransferStatus.CLOSED}))
        code = barcode_of(barcode)
        if code not in self.missing or code in self.found:
            raise InvalidInput(f"copy {code} is not missing on this transfer")
        self._missing_found(barcode=code, found_at=now)

    @event("MissingCopyFound")
    def _missing_found(self, barcode: str, found_at: datetime) -> None:
        self.found = {**self.found, barcode: found_at.isoformat()}

    # -- deposits ---------------------------------------------------------------------------
    def extend(self, due_date: date, reason: str) -> None:
        if self.reason not in TEMPORARY or self.due_date is None:
            raise InvalidInput("only a rotation or a deposit has a due date to extend")
        if self.status not in (*OPEN, TransferStatus.CLOSED):
            raise IllegalTransition("Extend", self.status.value, what="transfer")
        if due_date <= self.due_date:
            raise InvalidInput(f"the new due date must be after {self.due_date}")
        self._extended(due_date=due_date, reason=one_line(reason, "an extension's reason", 500))

    @event("DueDateExtended")
    def _extended(self, due_date: date, reason: str) -> None:
        self.due_date = due_date

    # -- reorganisation ---------------------------------------------------------------------
    def replace_library(self, old: str, new: str, why: str) -> bool:
        """Library `old` became `new` (ADR 0021): the transfer goes on under `new`.
        False (nothing recorded) if it names `old` nowhere or has ended."""
        if self.status not in OPEN or old == new or old not in self.parties:
            return False

        def swap(code: str) -> str:
            return new if code == old else code

        self._library_replaced(
            old=old,
            new=new,
            why=why,
            sender=swap(self.sender),
            receiver=swap(self.receiver),
            proposed_by=swap(self.proposed_by),
            approvals_needed=list(dict.fromkeys(swap(p) for p in self.approvals_needed)),
            approved_by=list(dict.fromkeys(swap(p) for p in self.approved_by)),
        )
        return True

    @event("LibraryReplaced")
    def _library_replaced(
        self,
        old: str,
        new: str,
        why: str,
        sender: str,
        receiver: str,
        proposed_by: str,
        approvals_needed: list[str],
        approved_by: list[str],
    ) -> None:
        self.sender, self.receiver, self.proposed_by = sender, receiver, proposed_by
        self.approvals_needed, self.approved_by = approvals_needed, approved_by

    @property
    def pointless(self) -> bool:
        """Sender and receiver became one library before anything was sent."""
        return self.sender == self.receiver and self.status in BEFORE_DISPATCH

    def summary(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "version": self.version,
            "status": self.status.value,
            "sender": self.sender,
            "receiver": self.receiver,
            "reason": self.reason.value,
            "due_date": self.due_date.isoformat() if self.due_date else None,
            "copies": len(self.to_send),
            "waiting_for": self.waiting_for,
            "unpicked": len(self.unpicked) if self.status in BEFORE_DISPATCH else 0,
            "received": len(self.received),
            "missing": list(self.missing),
        }


def _check_hash(value: str) -> None:
    digits = value.removeprefix(HANDOVER_HASH)
    if not value.startswith(HANDOVER_HASH) or len(digits) != 64:
        raise InvalidInput("a handover record's hash is sha256: and 64 hex digits")
    try:
        int(digits, 16)
    except ValueError:
        raise InvalidInput("a handover record's hash is sha256: and 64 hex digits") from None
