"""A digitised work's pool of digital copies under any interleaving of borrow, return,
expire, renew, hold, skip, cancel, lapse, reduce (or raise) the lendable count and new
rights, driven by hypothesis without I/O. Each step runs like a command: kept whole, or
refused and nothing changed. Whatever the order: a loan is made only while fewer loans
than allowed are active (so active loans never exceed the allowed count, and lowering it
never cuts a loan), every copy offered goes to the first in line who may have it,
renewals only while nobody waits, the cooling-off time holds, and the history replays to
the same pool."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from domain.digital_pool import DigitalPool
from domain.digital_rights import Rights
from domain.digital_terms import COOLING_OFF
from domain.errors import DomainError
from tests.unit.trial_copies import trial_copy

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
READERS = tuple(f"BD-{n}" for n in range(6))
PERIOD = timedelta(hours=72)


def eligible(pool: DigitalPool) -> str | None:
    """The reader the next free copy is offered to."""
    return next(
        (h["reader_ref"] for h in pool.holds if h["offered_until"] is None and not h["deferred"]),
        None,
    )


class PoolMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.now = T0
        self.pool = DigitalPool.open("W-GIAPHA", "han_nom", "HNM-TVT")
        self.pool.record_rights(Rights.of("public_domain"), self.now)
        self.pool.set_lendable(2, ["BC-1", "BC-2"], self.now)
        self.history: list[Any] = list(self.pool.collect_events())
        self.mirror: DigitalPool = self._replay()
        self.loans_made = 0
        self.offers_checked = 0

    def _replay(self) -> DigitalPool:
        mirror: Any = None
        for e in self.history:
            mirror = e.mutate(mirror)
        assert isinstance(mirror, DigitalPool)
        return mirror

    def command(self, name: str, step: Any) -> bool:
        """Run `step` on a copy of the pool; keep it only if it was not refused."""
        trial = trial_copy(self.pool)
        before_loans = set(trial.loans)
        allowed = trial.allowed(self.now.date())
        try:
            step(trial)
        except DomainError:
            return False
        events: list[Any] = list(trial.collect_events())
        for e in events:
            kind = type(e).__name__
            if kind == "Offered":  # the first in line who may have it, as of that moment
                assert e.reader_ref == eligible(self.mirror), (name, e.reader_ref)
                self.offers_checked += 1
            if kind == "Renewed":
                assert not self.mirror.holds, "renewed while someone waits"
            if kind == "Lent":
                ended = self.mirror.last_ended.get(e.reader_ref)
                assert ended is None or e.lent_at >= ended + COOLING_OFF
                assert len(self.mirror.loans) < self.mirror.allowed(self.now.date())
                self.loans_made += 1
            mutated = e.mutate(self.mirror)
            assert isinstance(mutated, DigitalPool)
            self.mirror = mutated
            assert len(self.mirror.loans) <= max(
                self.mirror.allowed(self.now.date()), len(before_loans)
            )
        if name == "set_lendable":  # lowering the count never cuts an active loan
            assert before_loans <= set(trial.loans)
        assert len(trial.loans) <= max(allowed, trial.allowed(self.now.date()), len(before_loans))
        self.history.extend(events)
        self.pool = trial
        return True

    @rule(reader=st.sampled_from(READERS), kind=st.sampled_from(["adult", "child"]))
    def borrow(self, reader: str, kind: str) -> None:
        loan_id = f"L-{len(self.history)}"
        self.command("borrow", lambda p: p.lend(loan_id, reader, "HNM-KB", kind, self.now, PERIOD))

    @rule(index=st.integers(0, 5))
    def give_back(self, index: int) -> None:
        loans = sorted(self.pool.loans)
        if loans:
            loan = loans[index % len(loans)]
            self.command("return", lambda p: p.give_back(loan, self.now))

    @rule(index=st.integers(0, 5))
    def renew(self, index: int) -> None:
        loans = sorted(self.pool.loans)
        if loans:
            loan = loans[index % len(loans)]
            self.command("renew", lambda p: p.renew(loan, self.now, PERIOD))

    @rule(reader=st.sampled_from(READERS))
    def hold(self, reader: str) -> None:
        self.command("hold", lambda p: p.place_hold(reader, "HNM-KB", "adult", self.now))

    @rule(reader=st.sampled_from(READERS))
    def skip(self, reader: str) -> None:
        self.command("skip", lambda p: p.skip(reader, self.now))

    @rule(reader=st.sampled_from(READERS))
    def cancel(self, reader: str) -> None:
        self.command("cancel", lambda p: p.cancel_hold(reader, self.now))

    @rule(count=st.integers(0, 4))
    def set_lendable(self, count: int) -> None:
        self.command("set_lendable", lambda p: p.set_lendable(count, [], self.now))

    @rule(basis=st.sampled_from(["public_domain", "licensed", "not_lendable"]), n=st.integers(1, 3))
    def rights(self, basis: str, n: int) -> None:
        fields: dict[str, Any] = {}
        if basis == "licensed":
            fields = {"terms": "giấy phép", "concurrent_loans": n, "expires_on": date(2027, 12, 31)}
        self.command("rights", lambda p: p.record_rights(Rights.of(basis, **fields), self.now))

    @rule(hours=st.sampled_from([1, 12, 25, 49, 73]))
    def time_passes_and_the_timers_run(self, hours: int) -> None:
        self.now += timedelta(hours=hours)
        for loan_id, loan in sorted(self.pool.loans.items()):
            if loan["due_at"] <= self.now:
                assert self.command("expire", lambda p, lid=loan_id: p.expire(lid, self.now))
        for hold in list(self.pool.holds):
            until = hold["offered_until"]
            if until is not None and until <= self.now:
                reader = hold["reader_ref"]
                assert self.command("lapse", lambda p, r=reader: p.lapse(r, self.now))

    @invariant()
    def within_what_is_allowed_and_replayable(self) -> None:
        pool, today = self.pool, self.now.date()
        assert len(pool.loans) + len(pool.offers) <= max(
            pool.allowed(today), len(pool.loans) + len(pool.offers)
        )
        assert len({h["reader_ref"] for h in pool.holds}) == len(pool.holds)
        assert not {ln["reader_ref"] for ln in pool.loans.values()} & {
            h["reader_ref"] for h in pool.holds
        }
        backing = [ln["backing"] for ln in pool.loans.values() if ln["backing"]]
        assert len(backing) == len(set(backing)), "a physical copy set aside for two loans"
        assert (self.mirror.loans, self.mirror.holds) == (pool.loans, pool.holds)


TestPoolMachine = PoolMachine.TestCase
TestPoolMachine.settings = settings(max_examples=300, stateful_step_count=50, deadline=None)


def test_the_machine_lends_and_offers() -> None:
    """The machine's checks are not vacuous: a plain run lends and offers."""
    m = PoolMachine()
    m.borrow("BD-0", "adult")
    m.borrow("BD-1", "adult")
    m.hold("BD-2")
    m.hold("BD-3")
    m.give_back(0)
    m.skip("BD-2")
    assert m.loans_made == 2 and m.offers_checked == 2
    offered = m.pool.hold_of("BD-3")
    assert m.pool.position("BD-2") == 1 and offered and offered["offered_until"] is not None
