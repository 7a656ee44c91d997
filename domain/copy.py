"""One physical copy of a work: its barcode, the library that owns it, the library that
holds it now, and what it is doing (on the shelf, on loan, in transit, on deposit,
missing, withdrawn). Every change is its own event, so a copy's history says where it
was and why; nothing rewrites it silently: a copy checked in at a library that does not
hold it, or found after it went missing, gets an event saying so.

Transfers (domain/transfer.py) queue on a copy: the first transfer that names it is the
one it serves; a second waits behind it, never cancelling it. Each event carries the
copy's resulting status and holder, so that read models need no rules of their own."""

from __future__ import annotations

import re
from collections.abc import Collection
from enum import StrEnum
from functools import lru_cache
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.errors import IllegalTransition, InvalidInput
from domain.name_ids import name_id
from domain.text import one_line

BARCODE = re.compile(r"^[A-Z0-9][A-Z0-9-]{2,59}$")


class CopyStatus(StrEnum):
    ON_SHELF = "on_shelf"  # at its owner, lendable
    ON_DEPOSIT = "on_deposit"  # at a library that does not own it (a rotation, a deposit)
    ON_LOAN = "on_loan"  # lent to a reader, or to another library on ILL
    IN_TRANSIT = "in_transit"  # dispatched on a transfer, not yet received
    MISSING = "missing"  # lost on loan, or missing in transit: may be found later
    WITHDRAWN = "withdrawn"  # taken out of the collection for good


SHELVED = frozenset({CopyStatus.ON_SHELF, CopyStatus.ON_DEPOSIT})


def barcode_of(value: str) -> str:
    code = value.strip().upper()
    if not BARCODE.match(code):
        raise InvalidInput(
            f"barcode {value!r} must be 3 to 60 upper-case letters, digits or dashes"
        )
    return code


class Copy(Aggregate):
    TYPE_NAME = "copy"

    class Registered(Aggregate.Created):
        barcode: str
        work: str
        owner: str
        holder: str
        status: str

    class Changed(Aggregate.Event):
        """The base of every later event: the copy's resulting status and holder (and
        owner), and the facts of the change in `detail`."""

        status: str
        holder: str
        owner: str

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, Copy)
            aggregate.status = CopyStatus(self.status)
            aggregate.holder = self.holder
            aggregate.owner = self.owner
            self.change(aggregate)

        def change(self, copy: Copy) -> None:
            """What else the event changes on the copy."""

    class LentOnIll(Changed):
        request_id: str
        requester: str

        def change(self, copy: Copy) -> None:
            copy.loan = {"kind": "ill", "request": self.request_id, "with": self.requester}

    class LoanForwarded(Changed):
        """ISO ShippedForward: the requester sent the copy on to another request."""

        from_request: str
        request_id: str
        requester: str

        def change(self, copy: Copy) -> None:
            copy.loan = {"kind": "ill", "request": self.request_id, "with": self.requester}

    class IllLoanEnded(Changed):
        request_id: str

        def change(self, copy: Copy) -> None:
            copy.loan = None

    class CheckedOut(Changed):
        """Lent to a reader of its holding library."""

        reader_ref: str

        def change(self, copy: Copy) -> None:
            copy.loan = {"kind": "local", "reader": self.reader_ref, "with": self.holder}

    class CheckedIn(Changed):
        at_library: str

        def change(self, copy: Copy) -> None:
            copy.loan = None

    class CheckedInAtWrongLibrary(Changed):
        """The copy turned up at a library that did not hold it: it is shelved there now,
        and the event names where it was expected and what it was doing."""

        at_library: str
        expected: str
        was: str
        transfer_id: str

        def change(self, copy: Copy) -> None:
            copy.loan = None
            copy.in_transit_to = None
            copy.reserved_for = None

    class TransferQueued(Changed):
        transfer_id: str
        sender: str
        receiver: str

        def change(self, copy: Copy) -> None:
            copy.queue = [*copy.queue, {"transfer": self.transfer_id, "to": self.receiver}]

    class TransferLeft(Changed):
        """The copy is no longer part of a transfer (done with, dropped, cancelled)."""

        transfer_id: str
        reason: str

        def change(self, copy: Copy) -> None:
            copy.leave_queue(self.transfer_id)
            if copy.reserved_for == self.transfer_id:
                copy.reserved_for = None

    class Picked(Changed):
        transfer_id: str

        def change(self, copy: Copy) -> None:
            copy.reserved_for = self.transfer_id

    class Dispatched(Changed):
        transfer_id: str
        receiver: str

        def change(self, copy: Copy) -> None:
            copy.in_transit_to = self.receiver

    class ReceivedOnTransfer(Changed):
        transfer_id: str
        condition: str  # "" or what the receiver noted (damaged...)

        def change(self, copy: Copy) -> None:
            copy.in_transit_to = None
            copy.reserved_for = None
            copy.leave_queue(self.transfer_id)
            copy.condition = self.condition

    class MissingInTransit(Changed):
        transfer_id: str

        def change(self, copy: Copy) -> None:
            copy.in_transit_to = None
            copy.reserved_for = None
            copy.leave_queue(self.transfer_id)

    class LostOnLoan(Changed):
        request_id: str
        reason: str

        def change(self, copy: Copy) -> None:
            copy.loan = None

    class Found(Changed):
        at_library: str
        transfer_id: str

    class Withdrawn(Changed):
        reason: str

    class SetAside(Changed):
        """The copy backs a digital loan (ADR 0022): it stays on its shelf, lent to no one,
        until the loan ends."""

        loan_id: str

        def change(self, copy: Copy) -> None:
            copy.set_aside_for = self.loan_id

    class SetAsideEnded(Changed):
        loan_id: str

        def change(self, copy: Copy) -> None:
            copy.set_aside_for = None

    class LibraryReplaced(Changed):
        """Library `old` became `new` (a merge, a re-code: ADR 0021): wherever the copy
        named it (owner, holder, the library it is lent to or travels to) it names `new`."""

        old: str
        new: str
        why: str

        def change(self, copy: Copy) -> None:
            if copy.loan is not None and copy.loan.get("with") == self.old:
                copy.loan = {**copy.loan, "with": self.new}
            if copy.in_transit_to == self.old:
                copy.in_transit_to = self.new
            copy.queue = [{**q, "to": self.new} if q["to"] == self.old else q for q in copy.queue]

    class Recatalogued(Changed):
        """The copy is of another work now: its library's record was separated from the
        work it had been merged into (ADR 0025), and the copy goes with the record."""

        work: str
        previous: str
        reason: str

        def change(self, copy: Copy) -> None:
            copy.work = self.work

    def __init__(self, barcode: str, work: str, owner: str, holder: str, status: str) -> None:
        self.barcode = barcode
        self.work = work
        self.owner = owner
        self.holder = holder
        self.status = CopyStatus(status)
        self.loan: dict[str, str] | None = None
        self.queue: list[dict[str, str]] = []  # open transfers naming it, in order: id, to
        self.reserved_for: str | None = None  # picked for this transfer
        self.in_transit_to: str | None = None
        self.condition = ""
        self.set_aside_for: str | None = None  # the digital loan it backs

    @staticmethod
    @lru_cache(maxsize=65536)  # an import asks for each id a few times
    def id_for(barcode: str) -> UUID:
        return name_id(f"libshare:copy:{barcode.strip().upper()}")

    @classmethod
    def register(cls, barcode: str, work: str, owner: str) -> Copy:
        code = barcode_of(barcode)
        return cls._create(
            cls.Registered,
            id=cls.id_for(code),
            barcode=code,
            work=work,
            owner=owner,
            holder=owner,
            status=CopyStatus.ON_SHELF.value,
        )

    # -- where it is ------------------------------------------------------------------------
    @property
    def location(self) -> str | None:
        """The one library the copy is at now; None while it travels, or is missing or
        withdrawn."""
        if self.status is CopyStatus.IN_TRANSIT or self.status in (
            CopyStatus.MISSING,
            CopyStatus.WITHDRAWN,
        ):
            return None
        if self.loan is not None:
            return self.loan["with"]
        return self.holder

    @property
    def requestable(self) -> bool:
        """On a shelf, promised to no transfer and backing no digital loan: it may be lent."""
        return self.status in SHELVED and self.reserved_for is None and self.set_aside_for is None

    def requestable_besides(self, loans: Collection[str]) -> bool:
        """Requestable, or set aside only for a digital loan not among `loans` (one that
        ended in the change being saved, which releases the copy)."""
        released = self.set_aside_for is None or self.set_aside_for not in loans
        return self.status in SHELVED and self.reserved_for is None and released

    def _shelf_status(self, holder: str) -> str:
        return (CopyStatus.ON_SHELF if holder == self.owner else CopyStatus.ON_DEPOSIT).value

    def _trigger(self, cls: type[Changed], *, status: str | None = None, **kw: Any) -> None:
        kw.setdefault("holder", self.holder)
        kw.setdefault("owner", self.owner)
        self.trigger_event(cls, status=status or self.status.value, **kw)

    def _refuse(self, command: str, why: str) -> IllegalTransition:
        return IllegalTransition(
            command, f"{self.status.value} ({why})", what=f"copy {self.barcode}"
        )

    def _check_lendable(self, library: str, command: str) -> None:
        if self.holder != library:
            raise self._refuse(command, f"held by {self.holder}, not {library}")
        if self.status not in SHELVED:
            raise self._refuse(command, "not on a shelf")
        if self.reserved_for is not None:
            raise self._refuse(command, f"picked for transfer {self.reserved_for}")
        if self.set_aside_for is not None:
            raise self._refuse(command, f"set aside for a digital loan ({self.set_aside_for})")

    # -- cataloguing -----------------------------------------------------------------------
    def recatalogue(self, work: str, reason: str) -> bool:
        """Move the copy to `work`, whatever it is doing (a loan or a transfer goes on);
        True if it was of another work."""
        if work == self.work:
            return False
        self._trigger(self.Recatalogued, work=work, previous=self.work, reason=reason)
        return True

    # -- interlibrary loans ---------------------------------------------------------------
    def lend_on_ill(self, supplier: str, request_id: str, requester: str, work: str) -> None:
        if work != self.work:
            raise InvalidInput(f"copy {self.barcode} is of {self.work}, not {work}")
        self._check_lendable(supplier, "Loaned")
        self._trigger(
            self.LentOnIll,
            status=CopyStatus.ON_LOAN.value,
            request_id=request_id,
            requester=requester,
        )

    def forward_loan(self, from_request: str, request_id: str, requester: str) -> None:
        if self.loan is None or self.loan.get("request") != from_request:
            raise self._refuse("ShippedForward", f"not on loan on request {from_request}")
        self._trigger(
            self.LoanForwarded,
            from_request=from_request,
            request_id=request_id,
            requester=requester,
        )

    def end_ill_loan(self, request_id: str) -> None:
        """ISO LoanCompleted: the supplier has the copy back."""
        if self.loan is None or self.loan.get("request") != request_id:
            raise self._refuse("LoanCompleted", f"not on loan on request {request_id}")
        self._trigger(
            self.IllLoanEnded, status=self._shelf_status(self.holder), request_id=request_id
        )

    def lose_on_loan(self, request_id: str, reason: str) -> None:
        if self.loan is None or self.loan.get("request") != request_id:
            raise self._refuse("CompletedWithoutReturn", f"not on loan on request {request_id}")
        self._trigger(
            self.LostOnLoan,
            status=CopyStatus.MISSING.value,
            request_id=request_id,
            reason=reason,
        )

    # -- local circulation ----------------------------------------------------------------
    def check_out(self, library: str, reader_ref: str) -> None:
        self._check_lendable(library, "CheckOut")
        reader = one_line(reader_ref, "reader_ref", 64)
        self._trigger(self.CheckedOut, status=CopyStatus.ON_LOAN.value, reader_ref=reader)

    def check_in(self, library: str) -> None:
        """The copy is back at `library`'s desk. Its own local loan ends quietly; a
        missing copy is found; a copy on an ILL loan or in transit to this library is
        refused (its request, its transfer bring it back). Anything else (in transit
        elsewhere, lent by another library, on another library's shelf) is a check-in at
        the wrong library: it is shelved here, and the event says where it was expected
        and what it was doing. Nothing is rewritten silently."""
        local = self.loan is not None and self.loan["kind"] == "local"
        if local and self.holder == library:
            self._trigger(self.CheckedIn, status=self._shelf_status(library), at_library=library)
            return
        if self.status is CopyStatus.WITHDRAWN:
            raise self._refuse("CheckIn", "withdrawn")
        if self.status in SHELVED and self.holder == library:
            raise self._refuse("CheckIn", f"already on the shelf at {library}")
        ill = self.loan is not None and self.loan["kind"] == "ill"
        if ill and library in (self.holder, (self.loan or {}).get("with")):
            request = (self.loan or {}).get("request")
            raise self._refuse("CheckIn", f"on ILL loan: its request {request} brings it back")
        if self.status is CopyStatus.IN_TRANSIT and library == self.in_transit_to:
            raise self._refuse("CheckIn", f"receive it on transfer {self.reserved_for}")
        if self.status is CopyStatus.MISSING:
            self.found(library)
            return
        expected = self.holder if ill else self.in_transit_to or self.holder
        self._trigger(
            self.CheckedInAtWrongLibrary,
            status=self._shelf_status(library),
            holder=library,
            at_library=library,
            expected=expected,
            was=self.status.value,
            transfer_id=self.reserved_for or "",
        )

    # -- transfers ------------------------------------------------------------------------
    @property
    def transfers(self) -> list[str]:
        """The open transfers that name this copy, first the one it serves now."""
        return [q["transfer"] for q in self.queue]

    def leave_queue(self, transfer_id: str) -> None:
        self.queue = [q for q in self.queue if q["transfer"] != transfer_id]

    @property
    def available_from(self) -> str:
        """Where the copy will be once the transfers queued before now are done: the
        library a new transfer of it must start from."""
        return self.queue[-1]["to"] if self.queue else self.holder

    def queue_transfer(self, transfer_id: str, sender: str, receiver: str) -> None:
        """A transfer names this copy: it queues behind any open one, never replacing it."""
        if self.status is CopyStatus.WITHDRAWN:
            raise self._refuse("Transfer", "withdrawn")
        if transfer_id in self.transfers:
            return
        if sender != self.available_from:
            raise InvalidInput(
                f"copy {self.barcode} will be at {self.available_from}, not at {sender}"
            )
        self._trigger(
            self.TransferQueued, transfer_id=transfer_id, sender=sender, receiver=receiver
        )

    def leave_transfer(self, transfer_id: str, reason: str) -> None:
        if transfer_id not in self.transfers:
            return
        if self.status is CopyStatus.IN_TRANSIT and self.reserved_for == transfer_id:
            raise self._refuse("LeaveTransfer", "in transit on it")
        self._trigger(self.TransferLeft, transfer_id=transfer_id, reason=reason)

    def pick(self, transfer_id: str, sender: str) -> None:
        if self.transfers[:1] != [transfer_id]:
            waits = self.transfers[0] if self.queue else "none"
            raise self._refuse("Pick", f"waits for transfer {waits} first")
        self._check_lendable(sender, "Pick")
        self._trigger(self.Picked, transfer_id=transfer_id)

    def dispatch(self, transfer_id: str, receiver: str) -> None:
        if self.reserved_for != transfer_id or self.status not in SHELVED:
            raise self._refuse("Dispatch", f"not picked for transfer {transfer_id}")
        self._trigger(
            self.Dispatched,
            status=CopyStatus.IN_TRANSIT.value,
            transfer_id=transfer_id,
            receiver=receiver,
        )

    def receive(self, transfer_id: str, receiver: str, permanent: bool, condition: str) -> None:
        if self.status is not CopyStatus.IN_TRANSIT or self.reserved_for != transfer_id:
            raise self._refuse("Receive", f"not in transit on transfer {transfer_id}")
        owner = receiver if permanent else self.owner
        status = (CopyStatus.ON_SHELF if receiver == owner else CopyStatus.ON_DEPOSIT).value
        self._trigger(
            self.ReceivedOnTransfer,
            status=status,
            holder=receiver,
            owner=owner,
            transfer_id=transfer_id,
            condition=condition,
        )

    def go_missing_in_transit(self, transfer_id: str) -> None:
        if self.status is not CopyStatus.IN_TRANSIT or self.reserved_for != transfer_id:
            raise self._refuse("MissingInTransit", f"not in transit on transfer {transfer_id}")
        self._trigger(
            self.MissingInTransit, status=CopyStatus.MISSING.value, transfer_id=transfer_id
        )

    def found(self, library: str, transfer_id: str = "", owner: str | None = None) -> None:
        """A missing copy turned up at `library` (on the transfer it went missing on, the
        receiver; `owner` moves with a permanent transfer)."""
        if self.status is not CopyStatus.MISSING:
            raise self._refuse("Found", "not missing")
        new_owner = owner or self.owner
        status = (CopyStatus.ON_SHELF if library == new_owner else CopyStatus.ON_DEPOSIT).value
        self._trigger(
            self.Found,
            status=status,
            holder=library,
            owner=new_owner,
            at_library=library,
            transfer_id=transfer_id,
        )

    # -- digital loans ----------------------------------------------------------------------
    def set_aside(self, loan_id: str) -> None:
        """Back a digital loan: refused unless the copy could be lent now."""
        if self.set_aside_for == loan_id:
            return
        self._check_lendable(self.holder, "SetAside")
        self._trigger(self.SetAside, loan_id=loan_id)

    def end_set_aside(self, loan_id: str) -> None:
        if self.set_aside_for == loan_id:
            self._trigger(self.SetAsideEnded, loan_id=loan_id)

    def replace_library(self, old: str, new: str, why: str) -> bool:
        """`old` became `new`; False (nothing recorded) if the copy names `old` nowhere."""
        named = old in (
            self.owner,
            self.holder,
            self.in_transit_to,
            (self.loan or {}).get("with"),
        ) or any(q["to"] == old for q in self.queue)
        if not named or old == new:
            return False
        holder = new if self.holder == old else self.holder
        owner = new if self.owner == old else self.owner
        status = self.status.value
        if self.status in SHELVED:  # a deposit with its owner merged into its holder ends
            status = (CopyStatus.ON_SHELF if holder == owner else CopyStatus.ON_DEPOSIT).value
        self._trigger(
            self.LibraryReplaced,
            status=status,
            holder=holder,
            owner=owner,
            old=old,
            new=new,
            why=why,
        )
        return True

    def withdraw(self, library: str, reason: str) -> None:
        if library != self.owner:
            raise self._refuse("Withdraw", f"owned by {self.owner}")
        if self.status not in (*SHELVED, CopyStatus.MISSING) or self.queue or self.set_aside_for:
            raise self._refuse(
                "Withdraw", "on loan, in transit, queued for a transfer or backing a digital loan"
            )
        why = one_line(reason, "a withdrawal's reason", 500)
        self._trigger(self.Withdrawn, status=CopyStatus.WITHDRAWN.value, reason=why)
