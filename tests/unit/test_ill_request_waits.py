"""Every wait of an ILL request ends, without I/O: loans go overdue whether or not their
receipt was confirmed, one overdue reminder a day at most, and the waits on one party
(ExpectToSupply, WillSupply, conditions, a Cancel) remind it and then end."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta

import pytest
from eventsourcing.persistence import StoredEvent
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import invariant, rule

from domain.errors import DomainError, IllegalTransition
from domain.ill_actions import available_actions
from domain.ill_request import IllRequest
from domain.ill_status import ALLOWED_NEXT, WAITING, Status
from infra.network_app import NetworkApp
from tests.unit.test_ill_request_lifecycle import HOURS, LIBS, T0, Lifecycle, new_request, replay

DUE = date(2026, 11, 30)  # shipped at T0 for 28 days


def shipped() -> IllRequest:
    req = new_request()
    req.ship("SUP-A", "BC-1", T0, loan_days=28)
    return req


def test_a_loan_whose_receipt_was_never_confirmed_goes_overdue_after_its_due_date() -> None:
    req = shipped()
    with pytest.raises(IllegalTransition, match="not yet due"):
        req.mark_overdue(DUE)
    req.mark_overdue(DUE + timedelta(days=1))
    req.remind(DUE + timedelta(days=1))
    assert req.status is Status.OVERDUE and not req.receipt_confirmed
    assert "Received" in available_actions("Overdue", "Loan", "requester", awaiting_receipt=True)
    req.receive("REQ", T0 + timedelta(days=30))  # it did arrive, late: still overdue
    assert req.status is Status.OVERDUE and req.receipt_confirmed
    with pytest.raises(IllegalTransition, match="receipt confirmed"):
        req.receive("REQ", T0 + timedelta(days=30))
    assert replay(req).status is Status.OVERDUE


def test_renewing_an_overdue_loan_never_received_returns_it_to_loaned() -> None:
    req = shipped()
    req.mark_overdue(DUE + timedelta(days=1))
    req.renew("REQ")
    req.answer_renew("SUP-A", accept=True, renewal_days=14, renewals_allowed=1)
    assert (req.status, req.due_date) == (Status.LOANED, DUE + timedelta(days=14))
    req.receive("REQ", T0 + timedelta(days=31))
    assert req.status is Status.RECEIVED


def test_an_overdue_loan_lost_in_the_post_can_be_completed_without_return() -> None:
    req = shipped()
    req.mark_overdue(DUE + timedelta(days=1))
    req.complete_without_return("SUP-A", "Lost")
    assert req.status is Status.COMPLETED_WITHOUT_RETURN


def test_a_second_overdue_reminder_on_the_same_day_records_nothing() -> None:
    req = shipped()
    req.receive("REQ", T0)
    day = DUE + timedelta(days=1)
    req.mark_overdue(day)
    req.remind(day)
    version, recorded = req.version, len(req.pending_events)
    with pytest.raises(IllegalTransition, match="reminded"):
        req.remind(day)
    assert (req.version, len(req.pending_events)) == (version, recorded)
    req.remind(day + timedelta(days=1))
    assert req.last_reminder == day + timedelta(days=1)
    assert replay(req).last_reminder == day + timedelta(days=1)


def events_of(req: IllRequest) -> list[str]:
    return [type(e).__name__ for e in req.pending_events]


def test_expect_to_supply_is_reminded_once_then_the_next_supplier_is_asked() -> None:
    req = new_request()
    answered = T0 + timedelta(hours=40)
    req.expect_to_supply("SUP-A", now=answered, answer_hours=HOURS)
    assert req.answer_due == answered + timedelta(hours=48)  # SUP-A's policy, from now
    with pytest.raises(IllegalTransition, match="not yet due"):
        req.time_out(answered + timedelta(hours=47), HOURS)
    reminded = answered + timedelta(hours=49)
    req.time_out(reminded, HOURS)
    assert (req.status, req.supplier) == (Status.EXPECT_TO_SUPPLY, "SUP-A")
    assert req.answer_due == reminded + timedelta(hours=48)
    (reminder,) = [e for e in req.pending_events if type(e).__name__ == "AnswerReminderSent"]
    assert (reminder.library, reminder.party, reminder.awaiting) == (  # type: ignore[attr-defined]
        "SUP-A",
        "supplier",
        "ExpectToSupply",
    )
    req.time_out(reminded + timedelta(hours=48), HOURS)
    assert (req.status, req.supplier) == (Status.REQUEST_RECEIVED, "SUP-B")
    assert req.outcomes == [{"library": "SUP-A", "reason": "AnswerTimedOut"}]
    assert req.answer_due == reminded + timedelta(hours=48 + 24)  # SUP-B's policy


def test_will_supply_is_a_commitment_reminded_every_time_out_never_skipped() -> None:
    req = new_request()
    req.will_supply("SUP-A", now=T0, answer_hours=HOURS)
    now = T0
    for _ in range(3):
        now += timedelta(hours=48)
        req.time_out(now, HOURS)
    assert (req.status, req.supplier) == (Status.WILL_SUPPLY, "SUP-A")
    assert events_of(req).count("AnswerReminderSent") == 3


def test_conditions_the_requester_never_answers_lapse_to_the_next_supplier() -> None:
    req = new_request()
    req.propose_conditions("SUP-A", "Cost", cost="20000 VND", now=T0, answer_hours=HOURS)
    req.time_out(T0 + timedelta(hours=48), HOURS)
    reminder = req.pending_events[-1]
    assert (reminder.library, reminder.party) == ("REQ", "requester")  # type: ignore[attr-defined]
    assert req.status is Status.RETRY_POSSIBLE
    req.time_out(T0 + timedelta(hours=96), HOURS)
    assert (req.status, req.supplier) == (Status.REQUEST_RECEIVED, "SUP-B")
    assert req.outcomes == [{"library": "SUP-A", "reason": "ConditionsNotAnswered"}]


def test_accepted_conditions_give_the_supplier_a_new_time_out_to_ship() -> None:
    req = new_request()
    req.propose_conditions("SUP-A", "LibraryUseOnly", now=T0, answer_hours=HOURS)
    req.time_out(T0 + timedelta(hours=48), HOURS)  # the requester is reminded
    accepted = T0 + timedelta(hours=50)
    req.accept_conditions("REQ", now=accepted, answer_hours=HOURS)
    assert (req.answer_due, req.answer_reminded) == (accepted + timedelta(hours=48), False)


def test_a_cancel_the_supplier_never_answers_takes_effect_after_a_reminder() -> None:
    req = new_request()
    req.expect_to_supply("SUP-A", now=T0, answer_hours=HOURS)
    asked = T0 + timedelta(hours=10)
    req.cancel("REQ", "bạn đọc không cần nữa", now=asked, answer_hours=HOURS)
    assert req.answer_due == asked + timedelta(hours=48)
    req.time_out(asked + timedelta(hours=48), HOURS)
    assert req.status is Status.CANCEL_PENDING
    req.time_out(asked + timedelta(hours=96), HOURS)
    assert req.status is Status.CANCELLED
    assert req.pending_events[-1].reason == "CancelNotAnswered"  # type: ignore[attr-defined]
    assert replay(req).status is Status.CANCELLED


def test_a_refused_cancel_restarts_the_suppliers_clock() -> None:
    req = new_request()
    req.expect_to_supply("SUP-A", now=T0, answer_hours=HOURS)
    req.cancel("REQ", now=T0, answer_hours=HOURS)
    req.time_out(T0 + timedelta(hours=48), HOURS)  # reminded about the cancel
    answered = T0 + timedelta(hours=60)
    req.answer_cancel("SUP-A", accept=False, now=answered, answer_hours=HOURS)
    assert (req.status, req.answer_due) == (Status.EXPECT_TO_SUPPLY, answered + timedelta(hours=48))
    assert not req.answer_reminded


def test_answers_recorded_before_deadlines_existed_still_replay() -> None:
    """ExpectsToSupply and the others gained an optional answer_due; old events lack it."""
    req = new_request()
    req.expect_to_supply("SUP-A", now=T0 + timedelta(hours=1), answer_hours=HOURS)
    app = NetworkApp(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    app.save(req)
    stored = app.recorder.select_events(req.id)
    old = []
    for e in stored:
        state = json.loads(e.state)
        if e.topic.endswith("ExpectsToSupply"):
            del state["answer_due"]
        old.append(StoredEvent(e.originator_id, e.originator_version, e.topic, _dump(state)))
    rebuilt = None
    for e in old:
        rebuilt = app.mapper.to_domain_event(e).mutate(rebuilt)
    assert isinstance(rebuilt, IllRequest)
    assert rebuilt.status is Status.EXPECT_TO_SUPPLY
    assert rebuilt.answer_due == T0 + timedelta(hours=48)  # the deadline it had kept


def _dump(state: dict[str, object]) -> bytes:
    return json.dumps(state, separators=(",", ":")).encode()


class TimedLifecycle(Lifecycle):
    """The lifecycle state machine, with answers given as the application gives them (with
    the time) and the timers firing at random: no waiting status is ever without a
    deadline, and no time-out ever leaves the request waiting past it."""

    @rule(
        lib=st.sampled_from(LIBS),
        cmd=st.sampled_from(["expect_to_supply", "will_supply", "accept_conditions", "cancel"]),
    )
    def answer_with_the_time(self, lib: str, cmd: str) -> None:
        self._do_timed(cmd, lib)

    @rule(lib=st.sampled_from(LIBS), accept=st.booleans())
    def answer_cancel_with_the_time(self, lib: str, accept: bool) -> None:
        self._do_timed("answer_cancel", lib, accept)

    @rule(lib=st.sampled_from(LIBS))
    def conditions_with_the_time(self, lib: str) -> None:
        self._do_timed("propose_conditions", lib, "LibraryUseOnly")

    @rule(hours=st.integers(0, 200))
    def a_timer_fires(self, hours: int) -> None:
        self.now += timedelta(hours=hours)
        self._do("time_out", self.now, HOURS)

    def _do_timed(self, command: str, *args: object) -> None:
        """Lifecycle._do's checks, for a command given the time as the application does."""
        before_version, before_status = self.req.version, self.req.status
        try:
            getattr(self.req, command)(*args, now=self.now, answer_hours=HOURS)
        except DomainError:
            assert self.req.version == before_version and not self.req.pending_events
            return
        new = self.req.collect_events()
        assert new, f"{command} succeeded without an event"
        self.events.extend(new)
        if self.req.status != before_status:
            assert self.req.status in ALLOWED_NEXT[before_status], (before_status, self.req.status)

    @invariant()
    def every_wait_has_a_deadline(self) -> None:
        if self.req.status in WAITING:
            assert isinstance(self.req.answer_due, datetime)


TestTimedLifecycle = TimedLifecycle.TestCase
TestTimedLifecycle.settings = settings(max_examples=150, stateful_step_count=50, deadline=None)


def test_a_renewal_pending_when_the_loan_ends_without_return_is_not_offered_any_more() -> None:
    req = shipped()
    req.receive("REQ", T0)
    req.renew("REQ")
    req.complete_without_return("SUP-A", "Lost")
    assert not req.renew_pending
    assert available_actions("CompletedWithoutReturn", "Loan", "supplier", True) == []
