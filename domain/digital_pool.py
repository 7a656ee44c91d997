"""A digitised work's pool of digital copies (ADR 0022): the rights it is lent under,
how many copies the holding library lends at once (each may be backed by a physical copy,
set aside while lent digitally), the loans, and the waitlist.

Loans at once never exceed what the rights and the library allow; lowering either never
cuts an active loan, it stops new ones. A freed copy is offered to the first in line who
has not just skipped, for a pickup window; a reader may skip one offer and keep their
place; renewal only while nobody waits; after a loan ends, the same reader waits a
cooling-off time before borrowing the same work again."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.digital_errors import CoolingOff, NoCopyFree, NotLendable, RenewalRefused
from domain.digital_rights import NONE_RECORDED, Rights
from domain.digital_terms import COOLING_OFF, MAX_RENEWALS, PICKUP_WINDOW, reader_type
from domain.errors import IllegalTransition, InvalidInput, NotFound
from domain.text import one_line

MAX_LENDABLE = 1000


class DigitalPool(Aggregate):
    TYPE_NAME = "digital_pool"

    class Opened(Aggregate.Created):
        work: str
        kind: str
        library: str

    def __init__(self, work: str, kind: str, library: str) -> None:
        self.work = work
        self.kind = kind
        self.library = library  # the library that holds the digitised copy
        self.rights: Rights = NONE_RECORDED
        self.lendable = 0
        self.backing: list[str] = []  # physical copies that back digital ones
        self.loans: dict[str, dict[str, Any]] = {}  # loan id -> the loan
        self.holds: list[dict[str, Any]] = []  # the waitlist, in order
        self.last_ended: dict[str, datetime] = {}  # reader -> when their last loan ended
        self.ended: dict[str, datetime] = {}  # loan id -> its end, until its reader is forgotten

    @staticmethod
    def id_for(work: str) -> UUID:
        return uuid5(NAMESPACE_URL, f"libshare:digital-pool:{work}")

    @classmethod
    def open(cls, work: str, kind: str, library: str) -> DigitalPool:
        return cls._create(cls.Opened, id=cls.id_for(work), work=work, kind=kind, library=library)

    # -- what is free ---------------------------------------------------------------------
    def allowed(self, today: date) -> int:
        """How many loans at once: the library's lendable count within the rights."""
        ceiling = self.rights.ceiling(today)
        return self.lendable if ceiling is None else min(self.lendable, ceiling)

    @property
    def offers(self) -> list[dict[str, Any]]:
        return [h for h in self.holds if h["offered_until"] is not None]

    def free(self, today: date) -> int:
        return max(0, self.allowed(today) - len(self.loans) - len(self.offers))

    def loan_of(self, reader_ref: str) -> str | None:
        return next((lid for lid, ln in self.loans.items() if ln["reader_ref"] == reader_ref), None)

    def hold_of(self, reader_ref: str) -> dict[str, Any] | None:
        return next((h for h in self.holds if h["reader_ref"] == reader_ref), None)

    @property
    def ill_offers(self) -> list[dict[str, Any]]:
        """Offers to holds placed for ILL requests: the service lends them at once."""
        return [h for h in self.offers if h.get("ill_request")]

    def position(self, reader_ref: str) -> int | None:
        """The reader's place on the waitlist (1: next), or None."""
        return next(
            (i + 1 for i, h in enumerate(self.holds) if h["reader_ref"] == reader_ref), None
        )

    def active(self, loan_id: str, now: datetime) -> bool:
        loan = self.loans.get(loan_id)
        return loan is not None and loan["due_at"] > now

    def _reader_may(self, reader_ref: str, library: str, now: datetime, what: str) -> None:
        if self.allowed(now.date()) == 0 and self.rights.ceiling(now.date()) == 0:
            raise NotLendable(f"work {self.work} is not lendable digitally ({self.rights.basis})")
        if not self.rights.lends_to(self.library, library):
            raise NotLendable(
                f"work {self.work} is lent digitally only to readers of {self.library}"
            )
        ended = self.last_ended.get(reader_ref)
        if ended is not None and now < ended + COOLING_OFF:
            raise CoolingOff(
                f"reader {reader_ref} may {what} {self.work} again from "
                f"{(ended + COOLING_OFF).isoformat()}"
            )

    # -- the library's side ---------------------------------------------------------------
    def record_rights(self, rights: Rights, now: datetime) -> None:
        self._rights_recorded(**rights.as_event())
        self._serve(now)

    @event("RightsRecorded")
    def _rights_recorded(
        self,
        basis: str,
        terms: str,
        concurrent_loans: int | None,
        expires_on: date | None,
        owner: str,
        consent: bool,
        scope: str,
    ) -> None:
        self.rights = Rights.of(
            basis,
            terms=terms,
            concurrent_loans=concurrent_loans,
            expires_on=expires_on,
            owner=owner,
            consent=consent,
            scope=scope,
        )
        self._undefer()

    def set_lendable(self, count: int, backing: list[str], now: datetime) -> None:
        if not 0 <= count <= MAX_LENDABLE:
            raise InvalidInput(f"the lendable count is 0..{MAX_LENDABLE}")
        if backing and len(backing) != count:
            raise InvalidInput("name one backing copy per lendable digital copy, or none")
        if len(set(backing)) != len(backing):
            raise InvalidInput("each backing copy is named once")
        self._lendable_set(count=count, backing=list(backing))
        self._serve(now)

    @event("LendableCountSet")
    def _lendable_set(self, count: int, backing: list[str]) -> None:
        self.lendable = count
        self.backing = list(backing)
        self._undefer()

    # -- loans ----------------------------------------------------------------------------
    def lend(
        self,
        loan_id: str,
        reader_ref: str,
        library: str,
        reader: str,
        now: datetime,
        period: timedelta,
        ill_request: str = "",
        unavailable: frozenset[str] = frozenset(),
    ) -> None:
        """Lend a copy to a reader of `library` (for an ILL request of that library's,
        `ill_request` names it). A pool backed by physical copies sets one aside per
        loan: the first not lent digitally and not `unavailable` (off its shelf)."""
        reader_ref = one_line(reader_ref, "reader_ref", 64)
        reader_type(reader)
        if self.loan_of(reader_ref):
            raise InvalidInput(f"reader {reader_ref} already has {self.work} on loan")
        self._reader_may(reader_ref, library, now, "borrow")
        hold = self.hold_of(reader_ref)
        offered = hold is not None and hold["offered_until"] is not None
        full = len(self.loans) >= self.allowed(now.date())  # fewer copies than offered now
        if full or (not offered and self.free(now.date()) == 0):
            raise NoCopyFree(
                f"all {self.allowed(now.date())} digital copies of {self.work} are lent or "
                f"offered; place a hold ({len(self.holds)} waiting)"
            )
        in_use = {ln["backing"] for ln in self.loans.values()} | set(unavailable)
        backing = next((b for b in self.backing if b not in in_use), "")
        if self.backing and not backing:
            raise NoCopyFree(
                f"every physical copy backing {self.work}'s digital copies is lent digitally "
                "or off its shelf"
            )
        self._lent(
            loan_id=loan_id,
            reader_ref=reader_ref,
            library=library,
            reader_type=reader,
            lent_at=now,
            due_at=now + period,
            backing=backing,
            from_hold=hold is not None,
            ill_request=ill_request,
        )

    @event("Lent")
    def _lent(
        self,
        loan_id: str,
        reader_ref: str,
        library: str,
        reader_type: str,
        lent_at: datetime,
        due_at: datetime,
        backing: str,
        from_hold: bool,
        ill_request: str,
    ) -> None:
        self.holds = [h for h in self.holds if h["reader_ref"] != reader_ref]
        self.loans[loan_id] = {
            "reader_ref": reader_ref,
            "library": library,
            "reader_type": reader_type,
            "lent_at": lent_at,
            "due_at": due_at,
            "renewals": 0,
            "backing": backing,
            "ill_request": ill_request,
        }

    def _loan(self, loan_id: str) -> dict[str, Any]:
        loan = self.loans.get(loan_id)
        if loan is None:
            raise NotFound(f"loan {loan_id} of {self.work} is not active")
        return loan

    def give_back(self, loan_id: str, now: datetime) -> None:
        """The reader returns the loan early (or on time)."""
        self._loan(loan_id)
        self._returned(loan_id=loan_id, at=now)
        self._serve(now)

    @event("Returned")
    def _returned(self, loan_id: str, at: datetime) -> None:
        self._end(loan_id, at)

    def expire(self, loan_id: str, now: datetime) -> None:
        """The timers: the loan's period is over."""
        loan = self._loan(loan_id)
        if loan["due_at"] > now:
            raise IllegalTransition("Expire", f"due at {loan['due_at'].isoformat()}", [], "loan")
        self._expired(loan_id=loan_id, at=loan["due_at"])
        self._serve(now)

    @event("Expired")
    def _expired(self, loan_id: str, at: datetime) -> None:
        self._end(loan_id, at)

    def _end(self, loan_id: str, at: datetime) -> None:
        loan = self.loans.pop(loan_id)
        self.last_ended[loan["reader_ref"]] = at
        self.ended[loan_id] = at
        self._undefer()

    # -- retention of reading history (ADR 0023) --------------------------------------------
    def forget_readers(self, today: date, keep_days: int) -> list[str]:
        """The timers: loans that ended more than `keep_days` ago forget their readers
        (the read model then shows none); the loans stay, for statistics."""
        cutoff = today - timedelta(days=keep_days)
        due = sorted(lid for lid, at in self.ended.items() if at.date() < cutoff)
        if not due:
            raise IllegalTransition(
                "ForgetReaders", f"no loan of {self.work} ended before {cutoff}", [], "pool"
            )
        self._readers_forgotten(loan_ids=due, before=cutoff)
        return due

    @event("ReadersForgotten")
    def _readers_forgotten(self, loan_ids: list[str], before: date) -> None:
        for loan_id in loan_ids:
            self.ended.pop(loan_id, None)
        self.last_ended = {r: at for r, at in self.last_ended.items() if at.date() >= before}

    def renew(self, loan_id: str, now: datetime, period: timedelta) -> None:
        loan = self._loan(loan_id)
        if loan["due_at"] <= now:
            raise RenewalRefused(f"loan {loan_id} has expired")
        if self.holds:
            raise RenewalRefused(f"{len(self.holds)} readers wait for {self.work}")
        if loan["renewals"] >= MAX_RENEWALS:
            raise RenewalRefused(f"a digital loan is renewed at most {MAX_RENEWALS} time(s)")
        if self.allowed(now.date()) < len(self.loans):
            raise RenewalRefused("the copies lendable were reduced: this loan runs to its end")
        self._renewed(loan_id=loan_id, due_at=max(loan["due_at"], now + period))

    @event("Renewed")
    def _renewed(self, loan_id: str, due_at: datetime) -> None:
        self.loans[loan_id]["due_at"] = due_at
        self.loans[loan_id]["renewals"] += 1

    # -- the waitlist ---------------------------------------------------------------------
    def place_hold(
        self, reader_ref: str, library: str, reader: str, now: datetime, ill_request: str = ""
    ) -> None:
        """A reader of `library` waits for the next free copy (for an ILL request of that
        library's, `ill_request` names it: the copy offered is lent to it at once)."""
        reader_ref = one_line(reader_ref, "reader_ref", 64)
        reader_type(reader)
        if self.loan_of(reader_ref):
            raise InvalidInput(f"reader {reader_ref} has {self.work} on loan already")
        if self.hold_of(reader_ref):
            raise InvalidInput(f"reader {reader_ref} is waiting for {self.work} already")
        self._reader_may(reader_ref, library, now, "hold")
        if self.free(now.date()) > 0:
            raise InvalidInput(f"a digital copy of {self.work} is free: borrow it now")
        self._hold_placed(
            reader_ref=reader_ref,
            library=library,
            reader_type=reader,
            at=now,
            ill_request=ill_request,
        )

    @event("HoldPlaced")
    def _hold_placed(
        self, reader_ref: str, library: str, reader_type: str, at: datetime, ill_request: str = ""
    ) -> None:
        self.holds.append(
            {
                "reader_ref": reader_ref,
                "library": library,
                "reader_type": reader_type,
                "placed_at": at,
                "offered_until": None,
                "skipped": False,
                "deferred": False,
                "ill_request": ill_request,
            }
        )

    def _hold(self, reader_ref: str) -> dict[str, Any]:
        hold = self.hold_of(reader_ref)
        if hold is None:
            raise NotFound(f"reader {reader_ref} is not waiting for {self.work}")
        return hold

    def skip(self, reader_ref: str, now: datetime) -> None:
        """The one courtesy skip: not now; the copy goes to the next in line, the reader
        keeps their place for the copy after."""
        hold = self._hold(reader_ref)
        if hold["offered_until"] is None:
            raise IllegalTransition("Skip", "waiting (no copy offered yet)", [], "hold")
        if hold["skipped"]:
            raise IllegalTransition("Skip", "skipped once already", ["Borrow", "Cancel"], "hold")
        self._offer_skipped(reader_ref=reader_ref)
        self._serve(now)

    @event("OfferSkipped")
    def _offer_skipped(self, reader_ref: str) -> None:
        hold = self._hold(reader_ref)
        hold.update(offered_until=None, skipped=True, deferred=True)

    def cancel_hold(self, reader_ref: str, now: datetime) -> None:
        self._hold(reader_ref)
        self._hold_cancelled(reader_ref=reader_ref)
        self._serve(now)

    @event("HoldCancelled")
    def _hold_cancelled(self, reader_ref: str) -> None:
        self.holds = [h for h in self.holds if h["reader_ref"] != reader_ref]

    def lapse(self, reader_ref: str, now: datetime) -> None:
        """The timers: the offer's pickup window closed; the hold ends."""
        hold = self._hold(reader_ref)
        until = hold["offered_until"]
        if until is None or until > now:
            raise IllegalTransition("Lapse", "within its pickup window", [], "hold")
        self._offer_lapsed(reader_ref=reader_ref, at=until)
        self._serve(now)

    @event("OfferLapsed")
    def _offer_lapsed(self, reader_ref: str, at: datetime) -> None:
        self.holds = [h for h in self.holds if h["reader_ref"] != reader_ref]
        self._undefer()

    def _serve(self, now: datetime) -> None:
        """Offer each free copy to the first in line not offered one and not just
        skipping."""
        free = self.free(now.date())
        for hold in list(self.holds):
            if free <= 0:
                return
            if hold["offered_until"] is None and not hold["deferred"]:
                self._offered(reader_ref=hold["reader_ref"], until=now + PICKUP_WINDOW)
                free -= 1

    @event("Offered")
    def _offered(self, reader_ref: str, until: datetime) -> None:
        self._hold(reader_ref)["offered_until"] = until

    def _undefer(self) -> None:
        """A copy came free by a return, an expiry, a lapse or more copies: a reader who
        skipped an offer is next in line again."""
        for hold in self.holds:
            hold["deferred"] = False

    def summary(self, now: datetime) -> dict[str, Any]:
        return {
            "work": self.work,
            "library": self.library,
            "version": self.version,
            "rights": self.rights.as_event(),
            "lendable": self.lendable,
            "allowed_now": self.allowed(now.date()),
            "free_now": self.free(now.date()),
            "active_loans": len(self.loans),
            "waiting": len(self.holds),
        }
