"""ISO 18626 actions on an interlibrary loan request: which command of the aggregate
(domain/ill_request.py) each calls, and which events it may record. The requests service
(services/requests.py) runs an action through this table, the tests check the table
against the aggregate, and docs/events.md shows it (generated). Where ISO's name, our
command's and our event's differ (LoanCompleted / check_in / LoanCompleted,
RetryPossible / propose_conditions / ConditionsProposed, CopyCompleted / deliver_copy /
CopyDelivered), this table is where the three meet."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol
from uuid import UUID

from domain.errors import InvalidInput
from domain.ill_request import IllRequest
from domain.lending_policy import LendingPolicy

# An action's parameters, as the API and the UI send them (note, reason, item_id, answer,
# condition, cost, available_on, to_request; due_date: an outside peer's, from ISO 18626).
Params = dict[str, Any]


class ActionContext(Protocol):
    """What an action needs beyond the request: the time, and the libraries' policies."""

    @property
    def now(self) -> datetime: ...

    def answer_hours(self) -> dict[str, int]:
        """The current supplier's answer time-out: for an answer that starts a wait."""
        ...

    def upcoming_hours(self) -> dict[str, int]:
        """The next supplier's on the rota: for an answer that moves the request on."""
        ...

    def supplier_policy(self) -> LendingPolicy: ...

    def request(self, request_id: UUID) -> IllRequest:
        """Another request (ShippedForward's target)."""
        ...


# Runs the action on the request by a librarian of the library; returns another request
# it changed too (ShippedForward's target), saved in the same transaction.
Run = Callable[[IllRequest, str, Params, ActionContext], IllRequest | None]


@dataclass(frozen=True)
class IsoAction:
    name: str  # ISO 18626's
    method: str  # the aggregate's command
    events: tuple[str, ...]  # the events it may record on the request
    run: Run


def _waits(c: ActionContext) -> dict[str, Any]:
    """For an answer that starts a wait: its deadline follows the supplier's policy."""
    return {"now": c.now, "answer_hours": c.answer_hours()}


def yes(p: Params) -> bool:
    answer = p.get("answer")
    if answer not in ("Y", "N", True, False):
        raise InvalidInput("answer must be 'Y' or 'N'")
    return answer in ("Y", True)


def request_id(value: Any) -> UUID:
    try:
        return UUID(str(value))
    except ValueError:
        raise InvalidInput(f"{value!r} is not a request id") from None


def day(value: Any) -> date | None:
    if value in (None, ""):
        return None
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise InvalidInput(f"{value!r} is not a date (YYYY-MM-DD)") from None


def _ship_forward(r: IllRequest, lib: str, p: Params, c: ActionContext) -> IllRequest:
    to = c.request(request_id(p.get("to_request")))
    r.ship_forward(lib, to, c.now, c.supplier_policy().loan_days)
    return to


MOVES_ON = ("SupplierSkipped", "SentToSupplier", "RotaExhausted")

ISO_ACTIONS: dict[str, IsoAction] = {
    a.name: a
    for a in (
        # the supplier's answers
        IsoAction(
            "ExpectToSupply",
            "expect_to_supply",
            ("ExpectsToSupply",),
            lambda r, lib, p, c: r.expect_to_supply(lib, p.get("note", ""), **_waits(c)),
        ),
        IsoAction(
            "WillSupply",
            "will_supply",
            ("WillSupply",),
            lambda r, lib, p, c: r.will_supply(lib, p.get("note", ""), **_waits(c)),
        ),
        IsoAction(
            "RetryPossible",
            "propose_conditions",
            ("ConditionsProposed",),
            lambda r, lib, p, c: r.propose_conditions(
                lib,
                p.get("condition", ""),
                p.get("note", ""),
                p.get("cost"),
                day(p.get("available_on")),
                **_waits(c),
            ),
        ),
        IsoAction(
            "Unfilled",
            "unfilled",
            MOVES_ON,
            lambda r, lib, p, c: r.unfilled(lib, p.get("reason", ""), c.now, c.upcoming_hours()),
        ),
        IsoAction(
            "Loaned",
            "ship",
            ("Loaned",),
            lambda r, lib, p, c: r.ship(
                lib,
                p.get("item_id", ""),
                c.now,
                c.supplier_policy().loan_days,
                day(p.get("due_date")),
            ),
        ),
        IsoAction(
            "CopyCompleted",
            "deliver_copy",
            ("CopyDelivered",),
            lambda r, lib, p, c: r.deliver_copy(lib, p.get("note", ""), c.now),
        ),
        IsoAction(
            "CancelResponse",
            "answer_cancel",
            ("CancelAnswered",),
            lambda r, lib, p, c: r.answer_cancel(lib, yes(p), p.get("reason", ""), **_waits(c)),
        ),
        IsoAction(
            "RenewResponse",
            "answer_renew",
            ("RenewAnswered",),
            lambda r, lib, p, c: r.answer_renew(
                lib,
                yes(p),
                c.supplier_policy().renewal_days,
                c.supplier_policy().renewals_allowed,
                p.get("reason", ""),
                day(p.get("due_date")),
            ),
        ),
        IsoAction(
            "ReleaseHoldReturn",
            "release_return",
            ("ReturnHoldReleased",),
            lambda r, lib, p, c: r.release_return(
                lib, c.now, p.get("note", ""), day(p.get("due_date"))
            ),
        ),
        IsoAction("Recalled", "recall", ("Recalled",), lambda r, lib, p, c: r.recall(lib, c.now)),
        IsoAction(
            "LoanCompleted",
            "check_in",
            ("LoanCompleted",),
            lambda r, lib, p, c: r.check_in(lib, c.now),
        ),
        IsoAction(
            "CompletedWithoutReturn",
            "complete_without_return",
            ("CompletedWithoutReturn",),
            lambda r, lib, p, c: r.complete_without_return(lib, p.get("reason", "")),
        ),
        # the requester's
        IsoAction(
            "AcceptConditions",
            "accept_conditions",
            ("ConditionsAccepted",),
            lambda r, lib, p, c: r.accept_conditions(lib, **_waits(c)),
        ),
        IsoAction(
            "DeclineConditions",
            "decline_conditions",
            MOVES_ON,
            lambda r, lib, p, c: r.decline_conditions(lib, c.now, c.upcoming_hours()),
        ),
        IsoAction(
            "Cancel",
            "cancel",
            ("CancelRequested", "Cancelled"),
            lambda r, lib, p, c: r.cancel(lib, p.get("reason", ""), **_waits(c)),
        ),
        IsoAction("Received", "receive", ("Received",), lambda r, lib, p, c: r.receive(lib, c.now)),
        IsoAction("Renew", "renew", ("RenewRequested",), lambda r, lib, p, c: r.renew(lib)),
        IsoAction(
            "ShippedReturn",
            "ship_return",
            ("ReturnShipped",),
            lambda r, lib, p, c: r.ship_return(lib, c.now),
        ),
        IsoAction("ShippedForward", "ship_forward", ("ShippedForward",), _ship_forward),
        IsoAction(
            "Lost",
            "report_lost",
            ("CompletedWithoutReturn",),
            lambda r, lib, p, c: r.report_lost(lib),
        ),
        # either party's
        IsoAction(
            "HoldReturn",
            "hold_return",
            ("ReturnHeld",),
            lambda r, lib, p, c: r.hold_return(lib, p.get("note", "")),
        ),
        IsoAction(
            "Notification",
            "add_note",
            ("NoteAdded",),
            lambda r, lib, p, c: r.add_note(lib, p.get("note", "")),
        ),
        IsoAction(
            "StatusRequest",
            "status_request",
            ("StatusRequested",),
            lambda r, lib, p, c: r.status_request(lib),
        ),
    )
}


def iso_action(name: str) -> IsoAction:
    try:
        return ISO_ACTIONS[name]
    except KeyError:
        known = ", ".join(sorted(ISO_ACTIONS))
        raise InvalidInput(f"unknown action {name!r}; one of: {known}") from None
