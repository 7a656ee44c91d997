"""A reader's own digital lending (ADR 0022): the reader, proven by their card's access
key (api/reader_digital.py), borrows and holds digitised works, returns, renews and opens
their loans, skips an offer or gives up their place, and sees their shelf with the
offers waiting for them. Each is the call a librarian's desk makes, as a reader of the
card's home library, with the loan period of the card's type; the card must be valid,
as at any desk. services/entry.py takes the handlers into its table."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from domain.access import Actor, Caller, Permission, authorise
from domain.errors import InvalidInput, NotFound
from domain.reader import CardType, Reader, reader_ref_of
from services import aggregates
from services.commands import MyDigitalShelf, MyDigitalStep
from services.digital import DigitalService
from services.digital_access import DigitalAccessService

LOAN_STEPS = ("return", "renew", "link")
HOLD_STEPS = ("skip", "cancel")
STEPS = ("borrow", "hold", *LOAN_STEPS, *HOLD_STEPS)


class ReaderDigitalHandlers:
    def __init__(
        self,
        digital: DigitalService,
        access: DigitalAccessService,
        clock: Callable[[], datetime],
    ) -> None:
        self.digital = digital
        self.access = access
        self.clock = clock

    def table(self) -> dict[type[Any], Callable[[Caller, Any], Any]]:
        return {MyDigitalShelf: self._shelf, MyDigitalStep: self._step}

    def _me(self, caller: Caller, reader_ref: str) -> tuple[Actor, Reader]:
        ref = reader_ref_of(reader_ref)
        actor = authorise(caller, Permission.DIGITAL_SELF, reader=ref)
        return actor, aggregates.reader(self.digital.store, ref)

    def _shelf(self, caller: Caller, c: MyDigitalShelf) -> Any:
        _, card = self._me(caller, c.reader_ref)
        return self.digital.shelf_view(card.reader_ref, self.clock())

    def _step(self, caller: Caller, c: MyDigitalStep) -> Any:
        actor, card = self._me(caller, c.reader_ref)
        if c.action not in STEPS:
            raise InvalidInput(f"no action {c.action!r}; one of {', '.join(STEPS)}")
        now, ref, work = self.clock(), card.reader_ref, c.work.strip().upper()
        home = aggregates.current_library(self.digital.store, card.home_library)
        if not self.digital.visible(work, home.kind.value):
            raise NotFound(f"work {work} has no digital copies recorded")
        kind = "child" if card.card_type is CardType.CHILD else "adult"
        if c.action in ("borrow", "hold"):
            call = self.digital.borrow if c.action == "borrow" else self.digital.place_hold
            return call(
                actor,
                work,
                reader_ref=ref,
                library=card.home_library,
                reader_type=kind,
                client_request_id=c.client_request_id,
                now=now,
            )
        if c.action in HOLD_STEPS:
            return self.digital.hold_step(actor, work, ref, c.action, now)
        loan_id = self.digital.loan_of(work, ref)
        if c.action == "return":
            return self.digital.give_back(actor, work, loan_id, now)
        if c.action == "renew":
            return self.digital.renew(actor, work, loan_id, now)
        return self.access.issue_link(actor, work, loan_id, now)
