"""The requests read model agrees with the aggregate. Random command sequences go through
ILL request aggregates, into the real event store, through the notification log and the
projection runner into the read models in PostgreSQL; after every step each request's
row shows what its aggregate holds. The projection works a request's status out in SQL
from the events (projections/requests.py); this is what checks that it works it out as
the aggregate does (ADR 0018).

The state machine follows the unit tests' (tests/unit/test_ill_request_lifecycle.py), but
walks the lifecycle's paths rather than its refusals: the parties take the actions the UI
offers them, answers that start a wait carry the time as the application gives it, time
passes and the timers fire. A refused command records nothing, so it has nothing to show."""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from composition.bootstrap import System
from domain.errors import DomainError, InvalidInput
from domain.ill_actions import available_actions
from domain.ill_request import IllRequest
from domain.ill_status import TERMINAL, Status
from domain.iso_actions import ISO_ACTIONS
from projections.requests import detail
from projections.runner import ProjectionRunner
from projections.sources import LogSource
from tests.integration.support import seen
from tests.unit.test_ill_request_lifecycle import (
    HOURS,
    T0,
    TRIAL_PARAMS,
    TrialContext,
    another_request_for,
    new_request,
)

# Answers that start a wait, given the time as the application gives it (the party that
# gives each: the request's requester or its current supplier).
TIMED = {
    "expect_to_supply": "supplier",
    "will_supply": "supplier",
    "propose_conditions": "supplier",
    "accept_conditions": "requester",
    "cancel": "requester",
    "answer_cancel": "supplier",
}
ON_LOAN_OR_SHIPPED = frozenset({Status.LOANED, Status.RECEIVED, Status.RECALLED})
SERVICE_TYPES = st.sampled_from(["Loan", "Copy"])
SUPPLIERS = st.sampled_from([2, 2, 2, 1, 0])  # in the rota; none: Unfilled at once
RECORD_ONLY = ("Notification", "StatusRequest")
EARLY_ENDS = frozenset({"Unfilled", "Cancel", "CancelResponse", "CompletedWithoutReturn"})


class ReadModelFollows(RuleBasedStateMachine):
    def __init__(self, system: System, runner: ProjectionRunner, source: LogSource) -> None:
        super().__init__()
        self.system, self.runner, self.source = system, runner, source
        self.requests: dict[uuid.UUID, IllRequest] = {}
        self.now = T0

    @initialize(service_type=SERVICE_TYPES, suppliers=SUPPLIERS)
    def start(self, service_type: str, suppliers: int) -> None:
        self.req = new_request(service_type, rota=ROTA[:suppliers])
        self._save(self.req)

    @precondition(lambda self: self.req.status in TERMINAL)
    @rule(service_type=SERVICE_TYPES, suppliers=SUPPLIERS)
    def another_request(self, service_type: str, suppliers: int) -> None:
        """Once a request has ended, the machine goes on with a new one (the read model
        goes on showing the ended ones as they ended)."""
        self.start(service_type, suppliers)

    def _save(self, *requests: IllRequest) -> None:
        """Store what the command recorded (one save, as the application saves a command's
        events), then apply the log to the read models until they hold it all."""
        for req in requests:
            self.requests[req.id] = req
        self.system.app.save(*requests)
        with self.system.db.transaction() as conn:
            (stored,) = conn.execute("SELECT count(*) FROM libshare_events").fetchone() or (0,)
        deadline = time.monotonic() + 20
        while seen(self.system, "requests") < stored:
            assert time.monotonic() < deadline, "the requests projection did not catch up"
            self.runner.apply_batch(self.source.poll(timeout=0.2))
        self.the_read_model_shows_each_request_as_its_aggregate_has_it()

    def _do(self, call: Callable[[], object], *others: IllRequest) -> None:
        version = self.req.version
        try:
            call()
        except DomainError:
            assert self.req.version == version and not self.req.pending_events
            return
        self._save(self.req, *others)

    def _party(self, party: str) -> str | None:
        return self.req.requester if party == "requester" else self.req.supplier

    @precondition(lambda self: self.req.status not in TERMINAL)
    @rule(rnd=st.randoms(use_true_random=False), steps=st.integers(1, 12))
    def the_parties_go_on(self, rnd: random.Random, steps: int) -> None:
        """A run of steps, each one of the actions the UI offers either party now, or time
        passing (by an hour, past an answer's time-out, or to a loan's due date) with the
        timers running. The actions that end the request early come a third as often as
        the others, so that more runs go on to a loan's later statuses."""
        for _ in range(steps):
            if self.req.status in TERMINAL:
                return
            moves: list[tuple[str, str | int]] = [("clock", rnd.choice((1, 49, 24 * 29)))]
            for party in ("requester", "supplier"):
                for action in self._offered(party):
                    moves += [(party, action)] * (1 if action in EARLY_ENDS else 3)
            who, what = rnd.choice(moves)
            if who == "clock":
                assert isinstance(what, int)
                self._time_passes(what)
            else:
                self._offered_action(who, str(what))

    def _offered(self, party: str) -> list[str]:
        lib = self._party(party)
        offered = available_actions(
            self.req.status.value,
            self.req.service_type.value,
            party if lib else None,
            self.req.renew_pending,
            awaiting_receipt=not self.req.receipt_confirmed,
            return_held=self.req.return_held,
        )
        # Forwarding has a rule of its own; a note or a status request changes nothing
        # (a_fact_is_recorded records them), and offered at every step they would crowd
        # out the actions that move the request.
        return [a for a in offered if a not in ("ShippedForward", *RECORD_ONLY)]

    def _offered_action(self, party: str, action: str) -> None:
        version = self.req.version
        try:
            params = TRIAL_PARAMS.get(action, {})
            ISO_ACTIONS[action].run(self.req, self._party(party), params, TrialContext(self.now))
        except InvalidInput:  # offered, then refused with a reason (no renewals left)
            assert self.req.version == version and not self.req.pending_events
            return
        self._save(self.req)

    @precondition(lambda self: self.req.status not in TERMINAL)
    @rule(command=st.sampled_from(sorted(TIMED)), accept=st.booleans())
    def an_answer_that_starts_a_wait(self, command: str, accept: bool) -> None:
        lib = self._party(TIMED[command])
        args: dict[str, tuple[object, ...]] = {
            "propose_conditions": ("LibraryUseOnly",),
            "answer_cancel": (accept,),
        }
        method = getattr(self.req, command)
        clock = {"now": self.now, "answer_hours": HOURS}
        self._do(lambda: method(lib, *args.get(command, ()), **clock))

    @precondition(lambda self: self.req.status not in TERMINAL)
    @rule(hours=st.sampled_from([0, 1, 24, 49, 24 * 15, 24 * 29]))
    def time_passes_and_the_timers_run(self, hours: int) -> None:
        self._time_passes(hours)

    def _time_passes(self, hours: int) -> None:
        """As the timers worker calls them: each is refused where it is not due."""
        self.now += timedelta(hours=hours)
        self._do(lambda: self.req.time_out(self.now, HOURS))
        self._do(lambda: self.req.mark_overdue(self.now.date()))
        self._do(lambda: self.req.remind(self.now.date()))

    @precondition(lambda self: self.req.status in ON_LOAN_OR_SHIPPED)
    @rule()
    def the_loan_runs_past_its_due_date(self) -> None:
        """Whether or not its receipt was confirmed (overdue, then renewed or recalled)."""
        assert self.req.due_date is not None
        self._time_passes(24 * max(1, (self.req.due_date - self.now.date()).days + 1))

    @rule(fact=st.sampled_from(["loan", "return", "status", "note"]))
    def a_fact_is_recorded(self, fact: str) -> None:
        """A carrier's delivery of a parcel, the requester asking for the status, a note."""
        if fact == "status":
            self._do(lambda: self.req.status_request(self.req.requester))
            return
        if fact == "note":
            self._do(lambda: self.req.add_note(self.req.requester, "ghi chú"))
            return
        shipment = f"{fact}-{len(self.req.deliveries)}"
        self._do(lambda: self.req.parcel_delivered(shipment, fact, self.now, "Trần Văn Minh"))

    @precondition(lambda self: self.req.status not in TERMINAL)
    @rule()
    def the_item_goes_forward(self) -> None:
        """To another library that asked the same supplier for the same work: that request
        is stored too, and becomes Loaned."""
        other = another_request_for(self.req, self.now)
        self._do(lambda: self.req.ship_forward(self.req.requester, other, self.now, 28), other)

    @invariant()
    def the_read_model_shows_each_request_as_its_aggregate_has_it(self) -> None:
        with self.system.db.transaction() as conn:
            shown = {rid: detail(conn, rid) for rid in self.requests}
        for rid, req in self.requests.items():
            row = shown[rid]
            assert row is not None, f"request {rid} is not in the read model"
            assert {k: row[k] for k in COMPARED} == {k: COMPARED[k](req) for k in COMPARED}, [
                (e["event"], e["data"]) for e in row["timeline"]
            ]


ROTA = [
    {"library": "SUP-A", "reason": "same locality"},
    {"library": "SUP-B", "reason": "provincial library"},
]

# What the read model shows of a request, and where the aggregate holds it.
COMPARED: dict[str, Callable[[IllRequest], Any]] = {
    "status": lambda r: r.status.value,
    "supplier": lambda r: r.supplier,
    "version": lambda r: r.version,
    "answer_due": lambda r: r.answer_due,
    "due_date": lambda r: r.due_date,
    "renewals": lambda r: r.renewals,
    "renew_pending": lambda r: r.renew_pending,
    "awaiting_receipt": lambda r: r.item_id is not None and not r.receipt_confirmed,
}


def test_the_requests_read_model_shows_each_request_as_its_aggregate_has_it(
    system: System,
) -> None:
    runner = system.make_runner()  # every read model, as a projector runs them
    source = system.make_log_source()
    source.start(runner)
    try:
        run_state_machine_as_test(
            lambda: ReadModelFollows(system, runner, source),
            settings=settings(
                max_examples=50,
                stateful_step_count=50,
                deadline=None,
                suppress_health_check=[HealthCheck.too_slow],
            ),
        )
    finally:
        source.close()


def test_an_item_shipped_forward_with_a_renewal_pending_shows_none_pending(
    system: System,
) -> None:
    """A sequence the state machine found (the read model kept the renewal pending)."""
    runner = system.make_runner()
    source = system.make_log_source()
    source.start(runner)
    try:
        machine = ReadModelFollows(system, runner, source)
        machine.start("Loan", suppliers=1)
        for party, action in (("supplier", "Loaned"), ("requester", "Received")):
            machine._offered_action(party, action)
        machine._offered_action("requester", "Renew")
        assert machine.req.renew_pending
        machine.the_item_goes_forward()  # compares after each step
        assert machine.req.status.value == "ShippedForward" and not machine.req.renew_pending
    finally:
        source.close()
