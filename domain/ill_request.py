"""An interlibrary loan request, both sides of ISO 18626 in one aggregate: the requesting
library's actions and the supplying libraries' answers, routed along a rota. Statuses
and reasons take ISO 18626's names (domain/ill_status.py); every command checks the
acting library's role and the current status, and refuses with a reason otherwise."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.errors import IllegalTransition, InvalidInput, NotYourTurn
from domain.ill_status import (
    BEFORE_SHIPPING,
    CANCEL_NOT_ANSWERED,
    CONDITION_KINDS,
    DEFAULT_ANSWER_HOURS,
    DIGITAL_WAIT_ENDED,
    ON_LOAN,
    REASON_RETRY,
    REASONS_UNFILLED,
    TERMINAL,
    UNFILLED_NO_CANDIDATES,
    WAITING,
    ServiceType,
    Status,
)
from domain.text import note_text, one_line

# Days a requester has to send the item back once told to: after a recall, and after the
# supplier releases a hold on the return (ISO 18626 ReleaseHoldReturn).
RETURN_AFTER_RELEASE_DAYS = 7


class IllRequest(Aggregate):
    """A request by one library, for its reader, for a work it does not hold."""

    TYPE_NAME = "ill-request"

    class Requested(Aggregate.Created):
        requester: str
        work: str
        reader_ref: str
        service_type: str
        needed_by: date | None
        rota: list[dict[str, str]]
        excluded: list[dict[str, str]]
        requested_at: datetime

    def __init__(
        self,
        requester: str,
        work: str,
        reader_ref: str,
        service_type: str,
        needed_by: date | None,
        rota: list[dict[str, str]],
        excluded: list[dict[str, str]],
        requested_at: datetime,
    ) -> None:
        self.requester = requester
        self.work = work
        self.reader_ref = reader_ref
        self.service_type = ServiceType(service_type)
        self.needed_by = needed_by
        self.rota = rota
        self.excluded = excluded
        self.requested_at = requested_at
        self.rota_index = -1
        self.supplier: str | None = None
        self.answer_due: datetime | None = None
        self.status = Status.REQUEST_RECEIVED
        self.outcomes: list[dict[str, str]] = []
        self.conditions: dict[str, Any] | None = None
        self.status_before_cancel: Status | None = None
        self.item_id: str | None = None
        self.due_date: date | None = None
        self.renewals = 0
        self.renew_pending = False
        self.notes: list[dict[str, str]] = []
        self.answer_reminded = False  # the waited-on party was reminded in this wait
        self.receipt_confirmed = False  # the requester confirmed the item arrived
        self.delivered_format = ""  # "URL": a digital loan (ADR 0022); "": a parcel
        self.digital_wait = False  # ExpectToSupply on a digital pool's waitlist (ADR 0022)
        self.last_reminder: date | None = None  # of an overdue loan
        self.deliveries: list[str] = []  # shipments the carrier reported delivered
        self.return_held = ""  # "supplier" or "requester": who holds the return (HoldReturn)

    # -- creation and routing -------------------------------------------------------------
    @classmethod
    def request(
        cls,
        *,
        request_id: UUID,
        requester: str,
        work: str,
        reader_ref: str,
        service_type: str,
        needed_by: date | None,
        rota: list[dict[str, str]],
        now: datetime,
        answer_hours: dict[str, int],
        excluded: list[dict[str, str]] | None = None,
    ) -> IllRequest:
        """Create a request with its rota (each entry: library and why it was chosen) and
        send it to the first supplier; with an empty rota it ends Unfilled at once."""
        reader_ref = one_line(reader_ref, "reader_ref", 64)
        if service_type not in {s.value for s in ServiceType}:
            raise InvalidInput(f"service_type must be Loan or Copy, not {service_type!r}")
        if needed_by is not None and needed_by < now.date():
            raise InvalidInput(f"needed_by {needed_by} is in the past")
        if any(entry["library"] == requester for entry in rota):
            raise InvalidInput("a library never supplies itself")
        req = cls._create(
            cls.Requested,
            id=request_id,
            requester=requester,
            work=work,
            reader_ref=reader_ref,
            service_type=service_type,
            needed_by=needed_by,
            rota=rota,
            excluded=excluded or [],
            requested_at=now,
        )
        req._route_next(now, answer_hours)
        return req

    def _route_next(self, now: datetime, answer_hours: dict[str, int]) -> None:
        nxt = self.rota_index + 1
        if nxt < len(self.rota):
            library = self.rota[nxt]["library"]
            hours = answer_hours.get(library, 48)
            self._sent_to_supplier(
                supplier=library, rota_index=nxt, answer_due=now + timedelta(hours=hours)
            )
        else:
            reasons = (self.outcomes + self.excluded) or [
                {"library": "", "reason": UNFILLED_NO_CANDIDATES}
            ]
            self._rota_exhausted(reasons=reasons)

    @event("SentToSupplier")
    def _sent_to_supplier(self, supplier: str, rota_index: int, answer_due: datetime) -> None:
        self.supplier = supplier
        self.rota_index = rota_index
        self.answer_due = answer_due
        self.answer_reminded = False
        self.status = Status.REQUEST_RECEIVED
        self.conditions = None
        self.digital_wait = False

    @event("RotaExhausted")
    def _rota_exhausted(self, reasons: list[dict[str, str]]) -> None:
        self.supplier = None
        self.answer_due = None
        self.status = Status.UNFILLED

    @event("SupplierSkipped")
    def _supplier_skipped(self, supplier: str, reason: str) -> None:
        self.outcomes = [*self.outcomes, {"library": supplier, "reason": reason}]

    # -- waits -------------------------------------------------------------------------------
    def _due_from(self, now: datetime, answer_hours: dict[str, int] | None) -> datetime:
        """The current supplier's answer time-out from now (its policy decides every wait,
        also the requester's: the supplier's offer stands that long)."""
        hours = (answer_hours or {}).get(self.supplier or "", DEFAULT_ANSWER_HOURS)
        return now + timedelta(hours=hours)

    def _deadline(
        self, now: datetime | None, answer_hours: dict[str, int] | None
    ) -> datetime | None:
        """The deadline of a wait that starts now. Without `now` (the application always
        gives it) the request keeps its current deadline: no wait is without one."""
        return None if now is None else self._due_from(now, answer_hours)

    def _wait_started(self, answer_due: datetime | None) -> None:
        if answer_due is not None:
            self.answer_due = answer_due
        self.answer_reminded = False

    # -- guards -----------------------------------------------------------------------------
    def _guard(self, command: str, allowed: frozenset[Status] | set[Status]) -> None:
        if self.status not in allowed:
            raise IllegalTransition(command, self.status.value, [s.value for s in allowed])

    def _as_requester(self, library: str, command: str) -> None:
        if library != self.requester:
            raise NotYourTurn(
                f"only the requesting library {self.requester} may {command} "
                f"(the request is {self.status.value})"
            )

    def _as_supplier(self, library: str, command: str) -> None:
        if library != self.supplier:
            raise NotYourTurn(
                f"only the current supplier {self.supplier} may {command} "
                f"(the request is {self.status.value})"
            )

    def _loan_only(self, command: str) -> None:
        if self.service_type is not ServiceType.LOAN:
            raise IllegalTransition(command, f"{self.status.value} (a Copy request)")

    def party_of(self, library: str) -> str | None:
        if library == self.requester:
            return "requester"
        if library == self.supplier:
            return "supplier"
        return None

    # -- the supplier's answers -------------------------------------------------------------
    def expect_to_supply(
        self,
        library: str,
        note: str = "",
        *,
        now: datetime | None = None,
        answer_hours: dict[str, int] | None = None,
    ) -> None:
        """Not yet a commitment: from now the supplier has its answer time-out again to
        supply (or say why not); then it is reminded, then the next supplier is asked."""
        self._as_supplier(library, "answer ExpectToSupply")
        self._guard("ExpectToSupply", {Status.REQUEST_RECEIVED})
        self._expects_to_supply(
            supplier=library, note=note_text(note), answer_due=self._deadline(now, answer_hours)
        )

    @event("ExpectsToSupply")
    def _expects_to_supply(
        self,
        supplier: str,
        note: str,
        answer_due: datetime | None = None,
        digital_wait: bool = False,
    ) -> None:
        self.status = Status.EXPECT_TO_SUPPLY
        self.digital_wait = digital_wait
        self._wait_started(answer_due)

    def wait_for_digital_copy(self, library: str, position: int, until: datetime) -> None:
        """ISO ExpectToSupply from a digital pool with no copy free (ADR 0022): the request
        waits on the pool's waitlist, number `position`, until `until`; the copy offered
        to it is lent at once (Loaned, delivered format URL). At `until` the wait ends
        and the request moves on (the timers)."""
        self._as_supplier(library, "answer ExpectToSupply")
        self._loan_only("wait for a digital copy")
        self._guard("ExpectToSupply", {Status.REQUEST_RECEIVED})
        self._expects_to_supply(
            supplier=library,
            note=f"no digital copy free: number {position} on the waitlist",
            answer_due=until,
            digital_wait=True,
        )

    @property
    def waits_digitally(self) -> bool:
        """Whether the request holds a place on a digital pool's waitlist."""
        return self.digital_wait and self.status in (
            Status.EXPECT_TO_SUPPLY,
            Status.CANCEL_PENDING,
        )

    def digital_copy_refused(self, reason: str, now: datetime) -> None:
        """The pool could not lend the copy it offered to the request's reader (a cap or
        the cooling-off time): the supplier is skipped with the reason."""
        self._guard("Unfilled", {Status.EXPECT_TO_SUPPLY})
        assert self.supplier is not None
        self._supplier_skipped(supplier=self.supplier, reason=reason)
        self._route_next(now, {})

    def will_supply(
        self,
        library: str,
        note: str = "",
        *,
        now: datetime | None = None,
        answer_hours: dict[str, int] | None = None,
    ) -> None:
        """A commitment: the supplier is reminded to ship each answer time-out after."""
        self._as_supplier(library, "answer WillSupply")
        self._guard("WillSupply", {Status.REQUEST_RECEIVED, Status.EXPECT_TO_SUPPLY})
        self._will_supply(
            supplier=library, note=note_text(note), answer_due=self._deadline(now, answer_hours)
        )

    @event("WillSupply")
    def _will_supply(self, supplier: str, note: str, answer_due: datetime | None = None) -> None:
        self.status = Status.WILL_SUPPLY
        self._wait_started(answer_due)

    def propose_conditions(
        self,
        library: str,
        kind: str,
        note: str = "",
        cost: str | None = None,
        available_on: date | None = None,
        *,
        now: datetime | None = None,
        answer_hours: dict[str, int] | None = None,
    ) -> None:
        """ISO RetryPossible with a loan condition or offered costs. The offer stands for
        the supplier's answer time-out; then the requester is reminded, and one more
        time-out later the offer lapses and the next supplier is asked."""
        self._as_supplier(library, "propose conditions")
        self._guard("RetryPossible", {Status.REQUEST_RECEIVED, Status.EXPECT_TO_SUPPLY})
        if kind not in CONDITION_KINDS:
            raise InvalidInput(f"condition {kind!r} is not one of {sorted(CONDITION_KINDS)}")
        if kind == "Cost" and not cost:
            raise InvalidInput("a Cost condition needs the cost")
        if kind == "LaterDate" and available_on is None:
            raise InvalidInput("a LaterDate condition needs available_on")
        conditions: dict[str, Any] = {
            "kind": kind,
            "reason_retry": REASON_RETRY[kind],
            "note": note_text(note),
        }
        if cost:
            conditions["cost"] = cost
        if available_on:
            conditions["available_on"] = available_on.isoformat()
        self._conditions_proposed(
            supplier=library, conditions=conditions, answer_due=self._deadline(now, answer_hours)
        )

    @event("ConditionsProposed")
    def _conditions_proposed(
        self, supplier: str, conditions: dict[str, Any], answer_due: datetime | None = None
    ) -> None:
        self.status = Status.RETRY_POSSIBLE
        self.conditions = conditions
        self._wait_started(answer_due)

    def unfilled(
        self, library: str, reason: str, now: datetime, answer_hours: dict[str, int]
    ) -> None:
        """The current supplier cannot supply: record why and ask the next one."""
        self._as_supplier(library, "answer Unfilled")
        self._guard(
            "Unfilled", {Status.REQUEST_RECEIVED, Status.EXPECT_TO_SUPPLY, Status.WILL_SUPPLY}
        )
        if reason not in REASONS_UNFILLED:
            raise InvalidInput(
                f"reasonUnfilled {reason!r} is not one of {sorted(REASONS_UNFILLED)}"
            )
        self._supplier_skipped(supplier=library, reason=reason)
        self._route_next(now, answer_hours)

    def time_out(self, now: datetime, answer_hours: dict[str, int]) -> None:
        """The timer: the party the request waits on let its deadline pass. A new request
        goes to the next supplier at once. Any other wait first reminds the party (with
        the supplier's answer time-out again); if the deadline passes once more, the wait
        ends: ExpectToSupply goes to the next supplier (AnswerTimedOut), conditions lapse
        (ConditionsNotAnswered, next supplier), an unanswered Cancel takes effect. A
        WillSupply is a commitment: its supplier is reminded each time-out, never skipped.
        `answer_hours` holds the current and the next supplier's time-outs."""
        self._guard("AnswerTimeOut", WAITING)
        if self.answer_due is None or now < self.answer_due:
            raise IllegalTransition("AnswerTimeOut", f"{self.status.value} (not yet due)")
        assert self.supplier is not None
        if self.status is Status.REQUEST_RECEIVED:
            self._supplier_skipped(supplier=self.supplier, reason="AnswerTimedOut")
            self._route_next(now, answer_hours)
        elif self.digital_wait and self.status is Status.EXPECT_TO_SUPPLY:
            # Nobody to remind: the waitlist did not reach the request in time.
            self._supplier_skipped(supplier=self.supplier, reason=DIGITAL_WAIT_ENDED)
            self._route_next(now, answer_hours)
        elif self.status is Status.WILL_SUPPLY or not self.answer_reminded:
            waits_on = "requester" if self.status is Status.RETRY_POSSIBLE else "supplier"
            self._answer_reminder_sent(
                library=self.requester if waits_on == "requester" else self.supplier,
                party=waits_on,
                awaiting=self.status.value,
                answer_due=self._due_from(now, answer_hours),
            )
        elif self.status is Status.CANCEL_PENDING:
            self._cancelled(reason=CANCEL_NOT_ANSWERED)
        else:
            reason = (
                "ConditionsNotAnswered"
                if self.status is Status.RETRY_POSSIBLE
                else "AnswerTimedOut"
            )
            self._supplier_skipped(supplier=self.supplier, reason=reason)
            self._route_next(now, answer_hours)

    @event("AnswerReminderSent")
    def _answer_reminder_sent(
        self, library: str, party: str, awaiting: str, answer_due: datetime
    ) -> None:
        """A timer reminded the party the request waits on (ISO 18626: a Request with
        requestType Reminder to a supplier; a Notification to the requester) and gave it
        until answer_due."""
        self.answer_due = answer_due
        self.answer_reminded = True

    def ship(
        self, library: str, item_id: str, now: datetime, loan_days: int, due: date | None = None
    ) -> None:
        """ISO Loaned: the supplier ships the item; the due date follows its policy, or is
        `due` where the supplier's own system set it (an outside peer's dueDate)."""
        self._as_supplier(library, "ship")
        self._loan_only("ship")
        self._guard(
            "Loaned", {Status.REQUEST_RECEIVED, Status.EXPECT_TO_SUPPLY, Status.WILL_SUPPLY}
        )
        item_id = item_id.strip()
        if not item_id:
            raise InvalidInput("ship needs the item id (barcode) of the copy sent")
        self._loaned(
            supplier=library,
            item_id=item_id,
            shipped_at=now,
            due_date=due or now.date() + timedelta(days=loan_days),
        )

    def lend_digitally(
        self, library: str, loan_id: str, url: str, now: datetime, due: date
    ) -> None:
        """ISO Loaned with a delivered format of URL: a never-ship work is lent as a
        digital loan of the supplier's pool (ADR 0022); the item id is the loan's."""
        self._as_supplier(library, "lend digitally")
        self._loan_only("Loaned")
        self._guard(
            "Loaned", {Status.REQUEST_RECEIVED, Status.EXPECT_TO_SUPPLY, Status.WILL_SUPPLY}
        )
        self._loaned(
            supplier=library,
            item_id=loan_id,
            shipped_at=now,
            due_date=due,
            delivered_format="URL",
            url=url,
        )

    def digital_loan_ended(self, now: datetime) -> None:
        """The digital loan behind a URL delivery was returned or expired: nothing comes
        back by post, the loan is complete (ISO LoanCompleted)."""
        if self.delivered_format != "URL":
            raise IllegalTransition("LoanCompleted", f"{self.status.value} (not a URL delivery)")
        self._guard(
            "LoanCompleted", {Status.LOANED, Status.RECEIVED, Status.OVERDUE, Status.RECALLED}
        )
        assert self.supplier is not None
        self._loan_completed(supplier=self.supplier, checked_in_at=now)

    def digital_loan_renewed(self, due: date) -> None:
        """The digital loan behind a URL delivery was renewed (on the supplier's pool,
        while nobody waited): the request's due date follows (ISO RenewResponse)."""
        if self.delivered_format != "URL":
            raise IllegalTransition("RenewResponse", f"{self.status.value} (not a URL delivery)")
        self._guard("RenewResponse", {Status.LOANED, Status.RECEIVED})
        assert self.supplier is not None
        self._renew_answered(
            supplier=self.supplier, accepted=True, due_date=due, reason="digital loan renewed"
        )

    def _not_digital(self, command: str) -> None:
        if self.delivered_format == "URL":
            raise IllegalTransition(
                command,
                f"{self.status.value} (lent digitally: renew or return the digital loan)",
            )

    @event("Loaned")
    def _loaned(
        self,
        supplier: str,
        item_id: str,
        shipped_at: datetime,
        due_date: date,
        forwarded_from: str = "",
        delivered_format: str = "",
        url: str = "",
    ) -> None:
        self.status = Status.LOANED
        self.item_id = item_id
        self.delivered_format = delivered_format
        self.due_date = due_date
        self.answer_due = None

    def deliver_copy(self, library: str, note: str, now: datetime) -> None:
        """ISO CopyCompleted: the copy was sent; nothing comes back."""
        self._as_supplier(library, "deliver a copy")
        if self.service_type is not ServiceType.COPY:
            raise IllegalTransition("CopyCompleted", f"{self.status.value} (a Loan request)")
        self._guard(
            "CopyCompleted", {Status.REQUEST_RECEIVED, Status.EXPECT_TO_SUPPLY, Status.WILL_SUPPLY}
        )
        self._copy_delivered(supplier=library, note=note_text(note), delivered_at=now)

    @event("CopyDelivered")
    def _copy_delivered(self, supplier: str, note: str, delivered_at: datetime) -> None:
        self.status = Status.COPY_COMPLETED
        self.answer_due = None

    def answer_cancel(
        self,
        library: str,
        accept: bool,
        reason: str = "",
        *,
        now: datetime | None = None,
        answer_hours: dict[str, int] | None = None,
    ) -> None:
        """Refused, the request goes back to its status, with a new deadline."""
        self._as_supplier(library, "answer a cancel")
        self._guard("CancelResponse", {Status.CANCEL_PENDING})
        self._cancel_answered(
            supplier=library,
            accepted=accept,
            reason=reason,
            answer_due=None if accept else self._deadline(now, answer_hours),
        )

    @event("CancelAnswered")
    def _cancel_answered(
        self, supplier: str, accepted: bool, reason: str, answer_due: datetime | None = None
    ) -> None:
        if accepted:
            self.status = Status.CANCELLED
            self.answer_due = None
        else:
            assert self.status_before_cancel is not None
            self.status = self.status_before_cancel
            self._wait_started(answer_due)
        self.status_before_cancel = None

    def answer_renew(
        self,
        library: str,
        accept: bool,
        renewal_days: int,
        renewals_allowed: int,
        reason: str = "",
        due: date | None = None,
    ) -> None:
        """`due`: the new due date the supplier's own system set (an outside peer's, in its
        RenewResponse): it counts its renewals itself, so our copy of its policy does not."""
        self._as_supplier(library, "answer a renewal")
        self._guard("RenewResponse", ON_LOAN)
        if not self.renew_pending:
            raise IllegalTransition("RenewResponse", f"{self.status.value} (no renewal asked)")
        if accept and due is None and self.renewals >= renewals_allowed:
            raise InvalidInput(f"the policy allows {renewals_allowed} renewal(s); all used")
        if accept and self.status is Status.RECALLED:
            raise InvalidInput("a recalled item cannot be renewed")
        assert self.due_date is not None
        new_due = (due or self.due_date + timedelta(days=renewal_days)) if accept else None
        self._renew_answered(supplier=library, accepted=accept, due_date=new_due, reason=reason)

    @event("RenewAnswered")
    def _renew_answered(
        self, supplier: str, accepted: bool, due_date: date | None, reason: str
    ) -> None:
        self.renew_pending = False
        if accepted and due_date is not None:
            self.renewals += 1
            self.due_date = due_date
            if self.status is Status.OVERDUE:
                self.status = Status.RECEIVED if self.receipt_confirmed else Status.LOANED

    def recall(
        self, library: str, now: datetime, return_within_days: int = RETURN_AFTER_RELEASE_DAYS
    ) -> None:
        self._as_supplier(library, "recall")
        self._guard("Recalled", {Status.RECEIVED, Status.OVERDUE})
        self._recalled(
            supplier=library,
            recalled_at=now,
            return_by=now.date() + timedelta(days=return_within_days),
        )

    @event("Recalled")
    def _recalled(self, supplier: str, recalled_at: datetime, return_by: date) -> None:
        self.status = Status.RECALLED
        self.renew_pending = False
        self.return_held = ""  # a recall wants it back: no hold stands
        if self.due_date is None or return_by < self.due_date:
            self.due_date = return_by

    def check_in(self, library: str, now: datetime) -> None:
        """ISO LoanCompleted: the supplier has its item back."""
        self._as_supplier(library, "check the item in")
        self._guard("LoanCompleted", {Status.SHIPPED_RETURN})
        self._loan_completed(supplier=library, checked_in_at=now)

    @event("LoanCompleted")
    def _loan_completed(self, supplier: str, checked_in_at: datetime) -> None:
        self.status = Status.LOAN_COMPLETED

    def complete_without_return(self, library: str, reason: str) -> None:
        """ISO CompletedWithoutReturn, e.g. the item was lost."""
        self._as_supplier(library, "complete without return")
        self._guard("CompletedWithoutReturn", {Status.LOANED, *ON_LOAN, Status.SHIPPED_RETURN})
        if not reason.strip():
            raise InvalidInput("CompletedWithoutReturn needs a reason (e.g. Lost)")
        self._completed_without_return(supplier=library, reason=reason.strip())

    def report_lost(self, library: str) -> None:
        """ISO Lost (2021): the requester reports the item it borrowed lost; the loan
        ends CompletedWithoutReturn with reason Lost, as the supplier's would (the event
        names the loan's supplier; the actor says who reported it)."""
        self._as_requester(library, "report the item lost")
        self._loan_only("Lost")
        self._not_digital("Lost")
        self._guard("Lost", {Status.LOANED, *ON_LOAN})
        assert self.supplier is not None
        self._completed_without_return(supplier=self.supplier, reason="Lost")

    @event("CompletedWithoutReturn")
    def _completed_without_return(self, supplier: str, reason: str) -> None:
        self.status = Status.COMPLETED_WITHOUT_RETURN
        self.renew_pending = False  # a renewal asked for ends with the loan

    # -- the requester's actions --------------------------------------------------------------
    def accept_conditions(
        self,
        library: str,
        *,
        now: datetime | None = None,
        answer_hours: dict[str, int] | None = None,
    ) -> None:
        """The supplier will supply on its terms; from now it has its time-out to ship."""
        self._as_requester(library, "accept conditions")
        self._guard("AcceptConditions", {Status.RETRY_POSSIBLE})
        self._conditions_accepted(
            conditions=self.conditions or {}, answer_due=self._deadline(now, answer_hours)
        )

    @event("ConditionsAccepted")
    def _conditions_accepted(
        self, conditions: dict[str, Any], answer_due: datetime | None = None
    ) -> None:
        self.status = Status.WILL_SUPPLY
        self._wait_started(answer_due)

    def decline_conditions(self, library: str, now: datetime, answer_hours: dict[str, int]) -> None:
        """Decline this supplier's conditions and go on to the next supplier."""
        self._as_requester(library, "decline conditions")
        self._guard("DeclineConditions", {Status.RETRY_POSSIBLE})
        assert self.supplier is not None
        self._supplier_skipped(supplier=self.supplier, reason="ConditionsDeclined")
        self._route_next(now, answer_hours)

    def cancel(
        self,
        library: str,
        reason: str = "",
        *,
        now: datetime | None = None,
        answer_hours: dict[str, int] | None = None,
    ) -> None:
        """ISO Cancel: only before shipping. While conditions await the requester, the
        request is cancelled at once; otherwise the supplier answers, within its answer
        time-out (reminded once); a Cancel it never answers takes effect."""
        self._as_requester(library, "cancel")
        self._guard("Cancel", BEFORE_SHIPPING)
        if self.status is Status.RETRY_POSSIBLE:
            self._cancelled(reason=reason)
        else:
            self._cancel_requested(reason=reason, answer_due=self._deadline(now, answer_hours))

    @event("CancelRequested")
    def _cancel_requested(self, reason: str, answer_due: datetime | None = None) -> None:
        self.status_before_cancel = self.status
        self.status = Status.CANCEL_PENDING
        self._wait_started(answer_due)

    @event("Cancelled")
    def _cancelled(self, reason: str) -> None:
        self.status = Status.CANCELLED
        self.status_before_cancel = None
        self.answer_due = None

    def parcel_delivered(
        self, shipment_id: str, purpose: str, delivered_at: datetime, signer: str
    ) -> bool:
        """The delivery policy: a carrier reported one of this request's parcels delivered.
        The request records it (its timeline shows the item arrived) and its status stays:
        the receiving librarian confirms (Received, or LoanCompleted for a return). Once
        per shipment; returns whether it was new."""
        if shipment_id in self.deliveries:
            return False
        if self.item_id is None:
            raise IllegalTransition("ParcelDelivered", f"{self.status.value} (nothing shipped)")
        if purpose not in ("loan", "return"):
            raise InvalidInput("a delivery's purpose is 'loan' or 'return'")
        self._parcel_delivered(
            shipment_id=shipment_id, purpose=purpose, delivered_at=delivered_at, signer=signer
        )
        return True

    @event("ParcelDelivered")
    def _parcel_delivered(
        self, shipment_id: str, purpose: str, delivered_at: datetime, signer: str
    ) -> None:
        self.deliveries = [*self.deliveries, shipment_id]

    def receive(self, library: str, now: datetime) -> None:
        """The requester confirms the item arrived: a Loaned item is then Received; an
        item that went overdue (or was recalled) before its receipt was confirmed stays
        so, with the receipt recorded."""
        self._as_requester(library, "confirm receipt")
        self._loan_only("Received")
        self._guard("Received", {Status.LOANED, Status.OVERDUE, Status.RECALLED})
        if self.receipt_confirmed:
            raise IllegalTransition("Received", f"{self.status.value} (receipt confirmed)")
        self._received(received_at=now)

    @event("Received")
    def _received(self, received_at: datetime) -> None:
        self.receipt_confirmed = True
        if self.status is Status.LOANED:
            self.status = Status.RECEIVED

    def renew(self, library: str) -> None:
        self._as_requester(library, "renew")
        self._not_digital("Renew")
        self._guard("Renew", {Status.RECEIVED, Status.OVERDUE})
        if self.renew_pending:
            raise IllegalTransition("Renew", f"{self.status.value} (a renewal is pending)")
        self._renew_requested(due_date=self.due_date)

    @event("RenewRequested")
    def _renew_requested(self, due_date: date | None) -> None:
        self.renew_pending = True

    def ship_return(self, library: str, now: datetime) -> None:
        self._as_requester(library, "ship the item back")
        self._not_digital("ShippedReturn")
        self._guard("ShippedReturn", ON_LOAN)
        if self.return_held == "supplier":
            raise IllegalTransition(
                "ShippedReturn", f"{self.status.value} (the supplier holds the return)"
            )
        self._return_shipped(shipped_at=now)

    @event("ReturnShipped")
    def _return_shipped(self, shipped_at: datetime) -> None:
        self.status = Status.SHIPPED_RETURN
        self.renew_pending = False
        self.return_held = ""

    # -- holding the return (ISO 18626:2021) --------------------------------------------
    def hold_return(self, library: str, note: str = "") -> None:
        """ISO HoldReturn (2021), either party's, while the item is at the requester: the
        supplier asks the requester to keep it for now (its status HoldReturn: do not send
        it back until it releases the hold); the requester tells the supplier it keeps it
        for now (its action HoldReturn). The supplier's hold refuses ShippedReturn until
        ReleaseHoldReturn or a recall; the requester's ends when it ships the item back."""
        party = self.party_of(library)
        if party is None:
            raise NotYourTurn(
                f"{library} is neither the requester nor the current supplier "
                f"(the request is {self.status.value})"
            )
        self._loan_only("HoldReturn")
        self._not_digital("HoldReturn")
        self._guard("HoldReturn", ON_LOAN)
        if self.return_held:
            raise IllegalTransition(
                "HoldReturn", f"{self.status.value} (the {self.return_held} holds the return)"
            )
        self._return_held(library=library, party=party, note=note_text(note.strip()))

    @event("ReturnHeld")
    def _return_held(self, library: str, party: str, note: str) -> None:
        self.return_held = party

    def release_return(
        self, library: str, now: datetime, note: str = "", due: date | None = None
    ) -> None:
        """ISO ReleaseHoldReturn (2021): the supplier lets the requester send it back. The
        requester, who kept the item because it was told to, gets the time a recall gives
        to return it: the due date becomes the release day + RETURN_AFTER_RELEASE_DAYS if
        that is later (an outside supplier's own date, `due`, if its message gives one); a
        loan marked overdue before the hold is then on loan again, as after a renewal."""
        self._as_supplier(library, "release the hold on the return")
        if self.return_held != "supplier":
            raise IllegalTransition(
                "ReleaseHoldReturn", f"{self.status.value} (the supplier holds no return)"
            )
        assert self.due_date is not None  # (a hold needs the item at the requester)
        given = now.date() + timedelta(days=RETURN_AFTER_RELEASE_DAYS)
        new_due = due or max(self.due_date, given)
        self._return_hold_released(supplier=library, note=note_text(note.strip()), due_date=new_due)

    @event("ReturnHoldReleased")
    def _return_hold_released(self, supplier: str, note: str, due_date: date | None = None) -> None:
        self.return_held = ""
        if due_date is not None:  # (None: recorded before releases moved the due date)
            self.due_date = due_date
            if self.status is Status.OVERDUE:
                self.status = Status.RECEIVED if self.receipt_confirmed else Status.LOANED

    def ship_forward(self, library: str, to: IllRequest, now: datetime, loan_days: int) -> None:
        """ISO ShippedForward: instead of returning the item, send it on to another library
        that asked the same supplier for the same work; that request becomes Loaned."""
        self._as_requester(library, "ship forward")
        self._loan_only("ShippedForward")
        self._guard("ShippedForward", {Status.RECEIVED})
        if (to.work, to.supplier, to.service_type) != (self.work, self.supplier, self.service_type):
            raise InvalidInput(
                "an item goes forward only to a Loan request for the same work "
                f"whose current supplier is {self.supplier}"
            )
        if to.requester == library or to.status not in (
            Status.REQUEST_RECEIVED,
            Status.EXPECT_TO_SUPPLY,
            Status.WILL_SUPPLY,
        ):
            raise IllegalTransition(
                "ShippedForward",
                f"{self.status.value} (target is {to.status.value} at {to.requester})",
            )
        assert self.supplier is not None and self.item_id is not None
        self._shipped_forward(
            supplier=self.supplier, to_request=str(to.id), to_library=to.requester, shipped_at=now
        )
        to._loaned(
            supplier=self.supplier,
            item_id=self.item_id,
            shipped_at=now,
            due_date=now.date() + timedelta(days=loan_days),
            forwarded_from=str(self.id),
        )

    @event("ShippedForward")
    def _shipped_forward(
        self, supplier: str, to_request: str, to_library: str, shipped_at: datetime
    ) -> None:
        self.status = Status.SHIPPED_FORWARD
        self.renew_pending = False

    def status_request(self, library: str) -> None:
        """ISO StatusRequest: recorded, and answered with the current state."""
        self._as_requester(library, "ask for the status")
        self._status_requested(by=library, status=self.status.value)

    @event("StatusRequested")
    def _status_requested(self, by: str, status: str) -> None:
        pass

    # -- reorganisation (ADR 0021) ---------------------------------------------------------
    def replace_library(self, old: str, new: str, why: str) -> bool:
        """Library `old` became `new` (a merge, a re-code): the request continues under
        `new` as requester, supplier and in the rota, its history kept. Rota entries not yet
        asked that would ask `new` twice, or ask the requester, are dropped. False (nothing
        recorded) if the request names `old` nowhere it matters or has ended."""
        if self.status in TERMINAL or old == new:
            return False
        names_old = old in (self.requester, self.supplier) or any(
            e["library"] == old for e in self.rota[self.rota_index + 1 :]
        )
        if not names_old:
            return False
        requester = new if self.requester == old else self.requester
        rota: list[dict[str, str]] = []
        for i, entry in enumerate(self.rota):
            if entry["library"] == old:
                entry = {"library": new, "reason": f"{entry['reason']}; {why}"}
            later = i > self.rota_index
            if later and (
                entry["library"] == requester or any(e["library"] == entry["library"] for e in rota)
            ):
                continue  # not asked yet, and would be asked twice or ask the requester
            rota.append(entry)
        self._library_replaced(
            old=old,
            new=new,
            why=why,
            requester=requester,
            supplier=new if self.supplier == old else self.supplier,
            rota=rota,
        )
        return True

    @event("LibraryReplaced")
    def _library_replaced(
        self,
        old: str,
        new: str,
        why: str,
        requester: str,
        supplier: str | None,
        rota: list[dict[str, str]],
    ) -> None:
        self.requester, self.supplier, self.rota = requester, supplier, rota

    # -- either side, and the timers ------------------------------------------------------
    def add_note(self, library: str, note: str) -> None:
        """ISO Notification, from either party, in any open state."""
        party = self.party_of(library)
        if party is None:
            raise NotYourTurn(
                f"{library} is neither the requester nor the current supplier "
                f"(the request is {self.status.value})"
            )
        if self.status in TERMINAL:
            raise IllegalTransition("Notification", self.status.value)
        note = note_text(note.strip())
        if not note:
            raise InvalidInput("a note must be 1 to 2000 characters")
        self._note_added(library=library, party=party, note=note)

    @event("NoteAdded")
    def _note_added(self, library: str, party: str, note: str) -> None:
        self.notes = [*self.notes, {"library": library, "party": party, "note": note}]

    def mark_overdue(self, today: date) -> None:
        """The timer: the due date passed while the item is out, whether or not its
        receipt was confirmed (ISO 18626: Loaned -> Overdue). Not while the supplier holds
        the return: the requester keeps the item because it was told to (the requester's
        own hold pauses nothing)."""
        self._guard("Overdue", {Status.LOANED, Status.RECEIVED, Status.RECALLED})
        if self.delivered_format == "URL":
            raise IllegalTransition("Overdue", "lent digitally (the loan expires by itself)")
        if self.due_date is None or today <= self.due_date:
            raise IllegalTransition("Overdue", f"{self.status.value} (not yet due)")
        self._not_held_by_supplier("Overdue")
        self._marked_overdue(due_date=self.due_date)

    def supplier_says_overdue(self, library: str) -> None:
        """ISO Overdue from the supplier (an outside peer's StatusChange): the loan is
        overdue because its system says so, whatever our copy of its due date says. The
        same MarkedOverdue as our timer's (the actor tells whose); a loan overdue already
        (by our timer or an earlier message) is refused: never marked twice."""
        self._as_supplier(library, "say the loan is overdue")
        self._loan_only("Overdue")
        self._guard("Overdue", {Status.LOANED, Status.RECEIVED, Status.RECALLED})
        if self.delivered_format == "URL":
            raise IllegalTransition("Overdue", "lent digitally (the loan expires by itself)")
        assert self.due_date is not None  # (every Loaned sets one)
        self._marked_overdue(due_date=self.due_date)

    def _not_held_by_supplier(self, command: str) -> None:
        if self.return_held == "supplier":
            raise IllegalTransition(command, f"{self.status.value} (the supplier holds the return)")

    @event("MarkedOverdue")
    def _marked_overdue(self, due_date: date) -> None:
        self.status = Status.OVERDUE

    def remind(self, today: date) -> None:
        """The timer: a reminder to the requester about an overdue loan, one per day: a
        second one on the same day is refused and records nothing (so a timer acting on
        a lagging read model cannot remind twice)."""
        self._guard("Reminder", {Status.OVERDUE})
        if self.last_reminder is not None and today <= self.last_reminder:
            raise IllegalTransition("Reminder", f"{self.status.value} (reminded {today})")
        self._not_held_by_supplier("Reminder")
        assert self.due_date is not None
        self._reminder_sent(due_date=self.due_date, sent_on=today)

    @event("ReminderSent")
    def _reminder_sent(self, due_date: date, sent_on: date) -> None:
        self.last_reminder = sent_on

    def forget_reader(self, today: date, keep_days: int) -> bool:
        """The timer, by the retention policy of reading history (ADR 0023): a request
        ended more than `keep_days` ago forgets which reader it was for (the read models
        drop the reader_ref; the earlier events keep the pseudonym only). False (nothing
        recorded) if it is forgotten already."""
        if self.status not in TERMINAL:
            raise IllegalTransition("ForgetReader", self.status.value)
        if not self.reader_ref:
            return False
        ended = self.modified_on.date()
        if today < ended + timedelta(days=keep_days):
            raise IllegalTransition("ForgetReader", f"{self.status.value} (ended {ended})")
        self._reader_forgotten(kept_days=keep_days)
        return True

    @event("ReaderForgotten")
    def _reader_forgotten(self, kept_days: int) -> None:
        self.reader_ref = ""
