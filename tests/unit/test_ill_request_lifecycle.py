"""The ILL request's lifecycle, without I/O: the usual paths, refusals, and a hypothesis
state machine that drives random command sequences through it."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from domain.errors import DomainError, IllegalTransition, InvalidInput, NotYourTurn
from domain.ill_actions import available_actions
from domain.ill_request import IllRequest
from domain.ill_status import ALLOWED_NEXT, TERMINAL, Status
from domain.iso_actions import ISO_ACTIONS
from domain.lending_policy import DEFAULT_POLICY, LendingPolicy
from infra.network_app import NetworkApp
from tests.unit.trial_copies import trial_copy

T0 = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
HOURS = {"SUP-A": 48, "SUP-B": 24}
ROTA = [
    {"library": "SUP-A", "reason": "same locality"},
    {"library": "SUP-B", "reason": "provincial library"},
]


def new_request(service_type: str = "Loan", rota: list[dict[str, str]] | None = None) -> IllRequest:
    return IllRequest.request(
        request_id=uuid.uuid4(),
        requester="REQ",
        work="W-KIEU",
        reader_ref="reader-17",
        service_type=service_type,
        needed_by=None,
        rota=ROTA if rota is None else rota,
        now=T0,
        answer_hours=HOURS,
    )


def another_request_for(req: IllRequest, now: datetime) -> IllRequest:
    """Another library's request for the same work from the same supplier (the target of
    ShippedForward)."""
    return IllRequest.request(
        request_id=uuid.uuid4(),
        requester="OTHER",
        work=req.work,
        reader_ref="reader-99",
        service_type=req.service_type.value,
        needed_by=None,
        rota=[{"library": req.supplier or "SUP-A", "reason": "test"}],
        now=now,
        answer_hours=HOURS,
    )


def replay(req: IllRequest) -> IllRequest:
    app = NetworkApp(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})  # in memory
    app.save(req)
    rebuilt: IllRequest = app.repository.get(req.id)
    return rebuilt


def test_a_loan_goes_from_request_to_completion() -> None:
    req = new_request()
    assert (req.status, req.supplier) == (Status.REQUEST_RECEIVED, "SUP-A")
    req.will_supply("SUP-A")
    req.ship("SUP-A", "BC-001", T0, loan_days=28)
    assert req.due_date == date(2026, 11, 30)
    req.receive("REQ", T0 + timedelta(days=2))
    req.ship_return("REQ", T0 + timedelta(days=20))
    req.check_in("SUP-A", T0 + timedelta(days=22))
    assert req.status is Status.LOAN_COMPLETED
    assert replay(req).status is Status.LOAN_COMPLETED


def test_a_copy_completes_when_delivered_and_cannot_be_shipped_as_a_loan() -> None:
    req = new_request("Copy")
    with pytest.raises(IllegalTransition, match="Copy request"):
        req.ship("SUP-A", "BC-1", T0, loan_days=28)
    req.deliver_copy("SUP-A", "chương 3, bản quét PDF", T0)
    assert req.status is Status.COPY_COMPLETED


def test_an_unfilled_answer_moves_the_request_to_the_next_supplier_with_the_reason() -> None:
    req = new_request()
    req.unfilled("SUP-A", "OnLoan", T0, HOURS)
    assert (req.status, req.supplier, req.answer_due) == (
        Status.REQUEST_RECEIVED,
        "SUP-B",
        T0 + timedelta(hours=24),
    )
    req.unfilled("SUP-B", "NotOnShelf", T0, HOURS)
    assert req.status is Status.UNFILLED
    assert req.outcomes == [
        {"library": "SUP-A", "reason": "OnLoan"},
        {"library": "SUP-B", "reason": "NotOnShelf"},
    ]


def test_a_supplier_that_does_not_answer_in_time_is_skipped() -> None:
    req = new_request()
    with pytest.raises(IllegalTransition, match="not yet due"):
        req.time_out(T0 + timedelta(hours=47), HOURS)
    req.time_out(T0 + timedelta(hours=48), HOURS)
    assert req.supplier == "SUP-B" and req.outcomes[0]["reason"] == "AnswerTimedOut"


def test_with_no_candidates_the_request_ends_unfilled_with_a_reason() -> None:
    req = new_request(rota=[])
    assert req.status is Status.UNFILLED
    (event,) = [e for e in req.collect_events() if type(e).__name__ == "RotaExhausted"]
    assert event.reasons[0]["reason"] == "NoSupplierHoldsAnAvailableCopy"  # type: ignore[attr-defined]


def test_conditions_accepted_lead_to_supply_and_declined_to_the_next_supplier() -> None:
    req = new_request()
    req.propose_conditions("SUP-A", "LibraryUseOnly", note="đọc tại chỗ")
    assert req.status is Status.RETRY_POSSIBLE
    assert req.conditions == {
        "kind": "LibraryUseOnly",
        "reason_retry": "LoanCondition",
        "note": "đọc tại chỗ",
    }
    req.accept_conditions("REQ")
    assert req.status is Status.WILL_SUPPLY
    other = new_request()
    other.propose_conditions("SUP-A", "Cost", cost="20000 VND")
    other.decline_conditions("REQ", T0, HOURS)
    assert other.supplier == "SUP-B" and other.outcomes[0]["reason"] == "ConditionsDeclined"


def test_a_cancel_before_shipping_waits_for_the_supplier_who_may_refuse_it() -> None:
    req = new_request()
    req.expect_to_supply("SUP-A")
    req.cancel("REQ", "bạn đọc không cần nữa")
    assert req.status is Status.CANCEL_PENDING
    req.answer_cancel("SUP-A", accept=False, reason="đã đóng gói")
    assert req.status is Status.EXPECT_TO_SUPPLY
    req.cancel("REQ")
    req.answer_cancel("SUP-A", accept=True)
    assert req.status is Status.CANCELLED


def test_cancel_after_shipping_is_refused() -> None:
    req = new_request()
    req.ship("SUP-A", "BC-1", T0, loan_days=28)
    with pytest.raises(IllegalTransition, match="Cancel is not allowed when the request is Loaned"):
        req.cancel("REQ")


def test_renewal_extends_the_due_date_within_the_policy() -> None:
    req = new_request()
    req.ship("SUP-A", "BC-1", T0, loan_days=28)
    req.receive("REQ", T0)
    req.renew("REQ")
    with pytest.raises(IllegalTransition, match="renewal is pending"):
        req.renew("REQ")
    req.answer_renew("SUP-A", accept=True, renewal_days=14, renewals_allowed=1)
    assert req.due_date == date(2026, 12, 14) and req.renewals == 1
    req.renew("REQ")
    with pytest.raises(InvalidInput, match="all used"):
        req.answer_renew("SUP-A", accept=True, renewal_days=14, renewals_allowed=1)
    req.answer_renew("SUP-A", accept=False, renewal_days=14, renewals_allowed=1)
    assert req.due_date == date(2026, 12, 14)


def test_an_overdue_loan_is_marked_and_reminded_and_can_be_recalled() -> None:
    req = new_request()
    req.ship("SUP-A", "BC-1", T0, loan_days=28)
    req.receive("REQ", T0)
    with pytest.raises(IllegalTransition, match="not yet due"):
        req.mark_overdue(date(2026, 11, 30))
    req.mark_overdue(date(2026, 12, 1))
    req.remind(date(2026, 12, 1))
    req.recall("SUP-A", T0 + timedelta(days=30))
    req.ship_return("REQ", T0 + timedelta(days=31))
    req.check_in("SUP-A", T0 + timedelta(days=33))
    assert req.status is Status.LOAN_COMPLETED


def test_a_loan_whose_return_the_supplier_holds_is_not_overdue_until_released() -> None:
    req = new_request()
    req.ship("SUP-A", "BC-1", T0, loan_days=28)  # due 2026-11-30
    req.receive("REQ", T0)
    req.hold_return("SUP-A", "closed for stocktaking")
    for day in (date(2026, 12, 1), date(2027, 1, 15)):  # obeying the hold: never overdue
        with pytest.raises(IllegalTransition, match="supplier holds the return"):
            req.mark_overdue(day)
    released = datetime(2026, 12, 20, 9, tzinfo=UTC)
    req.release_return("SUP-A", released)
    # the time a recall gives, from the release
    assert req.due_date == date(2026, 12, 27) and req.status is Status.RECEIVED
    with pytest.raises(IllegalTransition, match="not yet due"):
        req.mark_overdue(date(2026, 12, 27))
    req.mark_overdue(date(2026, 12, 28))
    assert replay(req).due_date == date(2026, 12, 27)


def test_a_hold_on_an_overdue_loan_stops_the_reminders_and_its_release_ends_the_overdue() -> None:
    req = new_request()
    req.ship("SUP-A", "BC-1", T0, loan_days=28)
    req.receive("REQ", T0)
    req.mark_overdue(date(2026, 12, 1))
    req.remind(date(2026, 12, 1))
    req.hold_return("SUP-A")
    with pytest.raises(IllegalTransition, match="supplier holds the return"):
        req.remind(date(2026, 12, 2))
    req.release_return("SUP-A", datetime(2026, 12, 3, tzinfo=UTC))
    assert (req.status, req.due_date) == (Status.RECEIVED, date(2026, 12, 10))


def test_a_release_long_before_the_due_date_keeps_it_and_the_requesters_hold_pauses_nothing() -> (
    None
):
    req = new_request()
    req.ship("SUP-A", "BC-1", T0, loan_days=28)
    req.receive("REQ", T0)
    req.hold_return("SUP-A")
    req.release_return("SUP-A", T0 + timedelta(days=1))
    assert req.due_date == date(2026, 11, 30)
    req.hold_return("REQ", "our reader keeps it a week")
    req.mark_overdue(date(2026, 12, 1))  # its own choice: the due date stands
    assert req.status is Status.OVERDUE


def test_an_outside_suppliers_release_may_give_its_own_due_date() -> None:
    req = new_request()
    req.ship("SUP-A", "BC-1", T0, loan_days=28)
    req.receive("REQ", T0)
    req.hold_return("SUP-A")
    req.release_return("SUP-A", T0 + timedelta(days=40), due=date(2027, 1, 31))
    assert req.due_date == date(2027, 1, 31)


def test_only_the_parties_may_act_in_their_roles() -> None:
    req = new_request()
    with pytest.raises(NotYourTurn):
        req.will_supply("SUP-B")  # not yet its turn
    with pytest.raises(NotYourTurn):
        req.cancel("SUP-A")  # a supplier cannot cancel for the requester
    with pytest.raises(NotYourTurn):
        req.add_note("OTHER", "xin chào")


def test_an_item_shipped_forward_becomes_the_next_requesters_loan() -> None:
    first = new_request()
    first.ship("SUP-A", "BC-42", T0, loan_days=28)
    first.receive("REQ", T0)
    second = IllRequest.request(
        request_id=uuid.uuid4(),
        requester="REQ-2",
        work="W-KIEU",
        reader_ref="r-2",
        service_type="Loan",
        needed_by=None,
        rota=ROTA,
        now=T0,
        answer_hours=HOURS,
    )
    first.ship_forward("REQ", second, T0 + timedelta(days=5), loan_days=28)
    assert first.status is Status.SHIPPED_FORWARD
    assert (second.status, second.item_id, second.due_date) == (
        Status.LOANED,
        "BC-42",
        date(2026, 12, 5),
    )
    second.receive("REQ-2", T0 + timedelta(days=6))
    assert second.status is Status.RECEIVED


def test_shipping_forward_needs_the_same_work_and_supplier() -> None:
    first = new_request()
    first.ship("SUP-A", "BC-42", T0, loan_days=28)
    first.receive("REQ", T0)
    elsewhere = IllRequest.request(
        request_id=uuid.uuid4(),
        requester="REQ-2",
        work="W-KIEU",
        reader_ref="r-2",
        service_type="Loan",
        needed_by=None,
        rota=ROTA[1:],
        now=T0,
        answer_hours=HOURS,
    )
    before = (first.version, elsewhere.version)
    with pytest.raises(InvalidInput, match="current supplier is SUP-A"):
        first.ship_forward("REQ", elsewhere, T0, loan_days=28)
    assert first.status is Status.RECEIVED and (first.version, elsewhere.version) == before


def test_a_status_request_is_recorded_and_changes_nothing() -> None:
    req = new_request()
    version = req.version
    req.status_request("REQ")
    assert req.version == version + 1 and req.status is Status.REQUEST_RECEIVED


# -- the state machine --------------------------------------------------------------------

LIBS = ["REQ", "SUP-A", "REQ", "SUP-A", "SUP-B", "OTHER"]  # parties more often


# Commands that record a fact without changing the request: allowed on a finished one too
# (a status asked after completion; a carrier's late news of a delivery).
RECORD_ONLY = frozenset({"status_request", "parcel_delivered"})


class Lifecycle(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.req = new_request()
        self.events = list(self.req.collect_events())
        self.now = T0

    @initialize(service_type=st.sampled_from(["Loan", "Copy"]))
    def start(self, service_type: str) -> None:
        self.req = new_request(service_type)
        self.events = list(self.req.collect_events())

    def _do(self, command: str, *args: object) -> None:
        before_version, before_status = self.req.version, self.req.status
        try:
            getattr(self.req, command)(*args)
        except DomainError:
            assert self.req.version == before_version  # a refusal changes nothing
            assert not self.req.pending_events
            return
        new = self.req.collect_events()
        assert new, f"{command} succeeded without an event"
        self.events.extend(new)
        if command not in RECORD_ONLY:
            assert before_status not in TERMINAL, f"{command} changed a finished request"
        if self.req.status != before_status:
            assert self.req.status in ALLOWED_NEXT[before_status], (before_status, self.req.status)

    @rule(days=st.integers(0, 40))
    def time_passes(self, days: int) -> None:
        self.now += timedelta(days=days)

    @rule(
        lib=st.sampled_from(LIBS),
        cmd=st.sampled_from(
            ["expect_to_supply", "will_supply", "accept_conditions", "cancel", "renew"]
        ),
    )
    def simple(self, lib: str, cmd: str) -> None:
        self._do(cmd, lib)

    @rule(lib=st.sampled_from(LIBS), reason=st.sampled_from(["OnLoan", "NotHeld", "Bogus"]))
    def unfilled(self, lib: str, reason: str) -> None:
        self._do("unfilled", lib, reason, self.now, HOURS)

    @rule(lib=st.sampled_from(LIBS))
    def decline(self, lib: str) -> None:
        self._do("decline_conditions", lib, self.now, HOURS)

    @rule(lib=st.sampled_from(LIBS), kind=st.sampled_from(["LibraryUseOnly", "Cost", "Nope"]))
    def conditions(self, lib: str, kind: str) -> None:
        self._do("propose_conditions", lib, kind, "", "10000 VND" if kind == "Cost" else None)

    @rule(lib=st.sampled_from(LIBS), accept=st.booleans())
    def answers(self, lib: str, accept: bool) -> None:
        self._do("answer_cancel", lib, accept)
        self._do("answer_renew", lib, accept, 14, 1)

    @rule(lib=st.sampled_from(LIBS))
    def ship(self, lib: str) -> None:
        self._do("ship", lib, "BC-9", self.now, 28)

    @rule(lib=st.sampled_from(LIBS))
    def deliver_copy(self, lib: str) -> None:
        self._do("deliver_copy", lib, "scan", self.now)

    @rule(
        lib=st.sampled_from(LIBS),
        cmd=st.sampled_from(["receive", "ship_return", "check_in", "recall"]),
    )
    def on_loan(self, lib: str, cmd: str) -> None:
        self._do(cmd, lib, self.now)

    @rule(
        cmd=st.sampled_from(
            [
                "will_supply",
                "ship",
                "receive",
                "renew",
                "answer_renew",
                "recall",
                "ship_return",
                "check_in",
                "mark_overdue",
            ]
        )
    )
    def the_right_party_acts(self, cmd: str) -> None:
        """Drive the loan forward (random libraries above mostly test refusals)."""
        sup, req = self.req.supplier or "SUP-A", self.req.requester
        calls = {
            "will_supply": (sup,),
            "ship": (sup, "BC-7", self.now, 28),
            "receive": (req, self.now),
            "renew": (req,),
            "answer_renew": (sup, True, 14, 2),
            "recall": (sup, self.now),
            "ship_return": (req, self.now),
            "check_in": (sup, self.now),
            "mark_overdue": (self.now.date(),),
        }
        self._do(cmd, *calls[cmd])

    @rule(party=st.sampled_from(["requester", "supplier"]))
    def hold_the_return(self, party: str) -> None:
        lib = self.req.requester if party == "requester" else self.req.supplier or "SUP-A"
        self._do("hold_return", lib, "giữ lại")

    @rule(lib=st.sampled_from(LIBS))
    def release_the_return(self, lib: str) -> None:
        self._do("release_return", lib, self.now)

    @rule(lib=st.sampled_from(LIBS))
    def lost(self, lib: str) -> None:
        self._do("complete_without_return", lib, "Lost")

    @rule()
    def timers(self) -> None:
        self._do("time_out", self.now, HOURS)
        self._do("mark_overdue", self.now.date())
        self._do("remind", self.now.date())

    @rule(lib=st.sampled_from(LIBS))
    def note(self, lib: str) -> None:
        self._do("add_note", lib, "ghi chú")

    @rule(lib=st.sampled_from(LIBS))
    def status_request(self, lib: str) -> None:
        before = self.req.status
        self._do("status_request", lib)
        assert self.req.status is before  # asking changes nothing but the record

    @rule(purpose=st.sampled_from(["loan", "return"]), shipment=st.sampled_from(["s1", "s2"]))
    def carrier_delivers(self, purpose: str, shipment: str) -> None:
        before, version = self.req.status, self.req.version
        if shipment in self.req.deliveries:  # told twice: recorded once
            assert not self.req.parcel_delivered(shipment, purpose, self.now, "Trần Văn Minh")
            assert self.req.version == version and not self.req.pending_events
        else:
            self._do("parcel_delivered", shipment, purpose, self.now, "Trần Văn Minh")
        assert self.req.status is before  # a carrier never moves the request itself

    @rule(lib=st.sampled_from(LIBS))
    def ship_forward(self, lib: str) -> None:
        """Pass the item on to another library's request for the same work."""
        other = another_request_for(self.req, self.now)
        other.collect_events()
        self._do("ship_forward", lib, other, self.now, 28)
        if self.req.status is Status.SHIPPED_FORWARD and other.pending_events:
            assert other.status is Status.LOANED and other.item_id == self.req.item_id

    @invariant()
    def every_action_offered_to_a_party_is_accepted(self) -> None:
        """The actions the UI offers (available_actions) are ones the aggregate accepts."""
        for party, lib in (("requester", self.req.requester), ("supplier", self.req.supplier)):
            offered = available_actions(
                self.req.status.value,
                self.req.service_type.value,
                party if lib else None,
                self.req.renew_pending,
                return_held=self.req.return_held,
            )
            for action in offered:
                if action == "ShippedForward":
                    continue  # needs a second request; covered by its own tests
                trial = trial_copy(self.req)
                iso = ISO_ACTIONS[action]  # the table the requests service runs
                try:
                    iso.run(trial, lib, TRIAL_PARAMS.get(action, {}), TrialContext(self.now))
                except (IllegalTransition, NotYourTurn) as exc:
                    raise AssertionError(f"{party} was offered {action}: {exc}") from exc
                except InvalidInput:
                    continue  # e.g. no renewals left: offered, then refused with a reason
                recorded = {type(e).__name__ for e in trial.collect_events()}
                assert recorded and recorded <= set(iso.events), (action, recorded)

    @invariant()
    def the_history_follows_iso_18626s_order(self) -> None:
        """Written from ISO 18626's usual paths, not from our transition table: nothing
        after a completion; a cancel is accepted only before shipping; receipt, return and
        check-in only after the item was shipped; copies are never returned."""
        names = [type(e).__name__ for e in self.events]
        shipped = next((i for i, n in enumerate(names) if n in ("Loaned", "CopyDelivered")), None)
        finals = {"Cancelled", "LoanCompleted", "CopyDelivered", "CompletedWithoutReturn"}
        finals |= {"RotaExhausted"}
        end = next((i for i, n in enumerate(names) if n in finals), None)
        if end is not None:
            after = set(names[end + 1 :]) - {"StatusRequested", "ParcelDelivered"}
            assert not after, f"{names[end]} was followed by {after}"
        if shipped is not None:
            assert "Cancelled" not in names[shipped:], "cancelled after shipping"
        for n in ("Received", "ReturnShipped", "LoanCompleted", "Recalled", "MarkedOverdue"):
            if n in names:
                assert shipped is not None and names.index(n) > shipped, f"{n} before shipping"
                assert self.req.service_type.value == "Loan", f"{n} on a copy"
        if "CopyDelivered" in names:
            assert self.req.service_type.value == "Copy"

    @invariant()
    def no_one_is_overdue_or_reminded_for_obeying_the_suppliers_hold(self) -> None:
        """While the supplier holds the return (ReturnHeld by the supplier, until its
        release, a recall or the item shipped back), no MarkedOverdue and no reminder."""
        held = False
        for e in self.events:
            name = type(e).__name__
            if name == "ReturnHeld":
                held = e.party == "supplier"  # type: ignore[attr-defined]
            elif name in ("ReturnHoldReleased", "Recalled", "ReturnShipped"):
                held = False
            assert not (held and name in ("MarkedOverdue", "ReminderSent")), name

    @invariant()
    def the_stored_form_replays_to_the_same_request(self) -> None:
        """Through the event store's own encoding (JSON with our transcodings) and back."""
        rebuilt = None
        for e in self.events:
            rebuilt = MAPPER.to_domain_event(MAPPER.to_stored_event(e)).mutate(rebuilt)
        assert rebuilt is not None and vars(rebuilt) == vars(self.req)

    @invariant()
    def history_is_gapless_and_replays_to_the_same_request(self) -> None:
        assert [e.originator_version for e in self.events] == list(range(1, len(self.events) + 1))
        rebuilt = None
        for e in self.events:
            rebuilt = e.mutate(rebuilt)
        assert rebuilt is not None
        assert vars(rebuilt) == vars(self.req)


# What a librarian sends with each action in the trials (the rest need nothing).
TRIAL_PARAMS: dict[str, dict[str, Any]] = {
    "RetryPossible": {"condition": "LibraryUseOnly"},
    "Unfilled": {"reason": "NotOnShelf"},
    "Loaned": {"item_id": "BC"},
    "CopyCompleted": {"note": "scan"},
    "CancelResponse": {"answer": "Y"},
    "RenewResponse": {"answer": "Y"},
    "CompletedWithoutReturn": {"reason": "Lost"},
    "Notification": {"note": "ghi chú"},
}


class TrialContext:
    """The time and the default policy, for actions tried on a copy of the request."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def answer_hours(self) -> dict[str, int]:
        return HOURS

    def upcoming_hours(self) -> dict[str, int]:
        return HOURS

    def supplier_policy(self) -> LendingPolicy:
        return DEFAULT_POLICY

    def request(self, request_id: uuid.UUID) -> IllRequest:
        raise AssertionError("ShippedForward is tried by its own rule")


MAPPER = NetworkApp(env={"PERSISTENCE_MODULE": "eventsourcing.popo"}).mapper

TestLifecycle = Lifecycle.TestCase
TestLifecycle.settings = settings(max_examples=200, stateful_step_count=50, deadline=None)
