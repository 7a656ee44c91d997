"""A copy under interleaved transfers, ILL loans, local loans, check-ins at the wrong
library and a reorganisation's transfer, driven by hypothesis without I/O. Each step
runs like a command: it changes the transfer and its copies together, or, refused,
changes nothing. Whatever the order: a copy is never in two places, never requestable
while in transit, and its history replays to the same state."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from domain.copy import SHELVED, Copy, CopyStatus
from domain.errors import DomainError
from domain.transfer import Transfer, TransferStatus
from tests.unit.trial_copies import trial_copy

LIBRARIES = ("LIB-A", "LIB-B", "LIB-C")
T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
HASH = "sha256:" + "0" * 64


class World:
    def __init__(self) -> None:
        self.copies = {
            f"BC-{n}": Copy.register(f"BC-{n}", "W-KIEU", LIBRARIES[n % 2]) for n in range(4)
        }
        self.transfers: dict[str, Transfer] = {}
        self.merged: set[str] = set()
        self.history: dict[Any, list[Any]] = {}
        self.now = T0

    def commit(self) -> None:
        for agg in [*self.copies.values(), *self.transfers.values()]:
            self.history.setdefault(agg.id, []).extend(agg.collect_events())


class CopyMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.world = World()
        self.world.commit()
        self.refused = 0

    def command(self, step: Any) -> None:
        """Run `step` on a copy of the world; keep it only if nothing was refused."""
        trial = trial_copy(self.world)
        try:
            step(trial)
        except DomainError:
            self.refused += 1
            return
        trial.now += timedelta(hours=1)
        trial.commit()
        self.world = trial

    def pick_transfer(self, data: st.DataObject, statuses: set[TransferStatus]) -> Transfer:
        ids = sorted(k for k, t in self.world.transfers.items() if t.status in statuses)
        return self.world.transfers[data.draw(st.sampled_from(ids))] if ids else None  # type: ignore[return-value]

    # -- transfers ------------------------------------------------------------------------
    @rule(
        data=st.data(),
        receiver=st.sampled_from(LIBRARIES),
        reason=st.sampled_from(["manual", "return_home", "reorganisation"]),
    )
    def propose(self, data: st.DataObject, receiver: str, reason: str) -> None:
        if receiver in self.world.merged:
            return  # a merged library takes no new work
        barcodes = data.draw(st.lists(st.sampled_from(sorted(self.world.copies)), min_size=1))
        barcodes = list(dict.fromkeys(barcodes))

        def step(w: World) -> None:
            sender = w.copies[barcodes[0]].available_from
            t = Transfer.propose(
                transfer_id=uuid.UUID(int=len(w.transfers) + 1),  # drawn in a fixed order
                sender=sender,
                receiver=receiver,
                reason=reason,
                copies=barcodes,
                proposed_by=sender,
                now=w.now,
                network_approval_above=100,
            )
            for b in barcodes:
                w.copies[b].queue_transfer(str(t.id), sender, receiver)
            w.transfers[str(t.id)] = t

        self.command(step)

    def approve(self, data: st.DataObject) -> None:
        t = self.pick_transfer(data, {TransferStatus.PROPOSED})
        if t is not None:
            self.command(lambda w: w.transfers[str(t.id)].approve(t.receiver))

    def pick_all(self, data: st.DataObject) -> None:
        t = self.pick_transfer(data, {TransferStatus.APPROVED})
        if t is None:
            return

        def step(w: World) -> None:
            mine = w.transfers[str(t.id)]
            for b in mine.pick(mine.sender, mine.to_send):
                w.copies[b].pick(str(mine.id), mine.sender)

        self.command(step)

    @precondition(lambda self: self.world.transfers)
    @rule(data=st.data())
    def cancel(self, data: st.DataObject) -> None:
        t = self.pick_transfer(data, {TransferStatus.PROPOSED, TransferStatus.APPROVED})
        if t is None:
            return

        def step(w: World) -> None:
            mine = w.transfers[str(t.id)]
            mine.cancel(mine.sender, "test")
            for b in mine.copies:
                w.copies[b].leave_transfer(str(mine.id), "cancelled")

        self.command(step)

    def dispatch(self, data: st.DataObject) -> None:
        t = self.pick_transfer(data, {TransferStatus.APPROVED})
        if t is None:
            return

        def step(w: World) -> None:
            mine = w.transfers[str(t.id)]
            mine.dispatch(mine.sender, ["shipment-1"], HASH, w.now)
            for b in mine.to_send:
                w.copies[b].dispatch(str(mine.id), mine.receiver)

        self.command(step)

    def receive_some(self, data: st.DataObject) -> None:
        t = self.pick_transfer(data, {TransferStatus.IN_TRANSIT})
        if t is None or not t.outstanding:
            return
        some = data.draw(st.lists(st.sampled_from(t.outstanding), min_size=1, unique=True))

        def step(w: World) -> None:
            mine = w.transfers[str(t.id)]
            got = mine.receive(mine.receiver, {b: "" for b in some}, [], w.now)
            for b in got:
                w.copies[b].receive(str(mine.id), mine.receiver, mine.permanent, "")

        self.command(step)

    def close(self, data: st.DataObject) -> None:
        t = self.pick_transfer(data, {TransferStatus.IN_TRANSIT})
        if t is None:
            return

        def step(w: World) -> None:
            mine = w.transfers[str(t.id)]
            outstanding = [w.copies[b] for b in mine.outstanding]
            elsewhere = {
                c.barcode: c.holder for c in outstanding if c.status is not CopyStatus.IN_TRANSIT
            }
            mine.close(mine.receiver, HASH, elsewhere, w.now)
            for c in outstanding:
                if c.barcode in elsewhere:
                    c.leave_transfer(str(mine.id), "turned up elsewhere")
                else:
                    c.go_missing_in_transit(str(mine.id))

        self.command(step)

    @precondition(lambda self: self.world.transfers)
    @rule(data=st.data())
    def found(self, data: st.DataObject) -> None:
        t = self.pick_transfer(data, {TransferStatus.CLOSED})
        if t is None or not t.missing:
            return
        barcode = data.draw(st.sampled_from(t.missing))

        def step(w: World) -> None:
            mine = w.transfers[str(t.id)]
            mine.missing_found(mine.receiver, barcode, w.now)
            owner = mine.receiver if mine.permanent else None
            w.copies[barcode].found(mine.receiver, str(mine.id), owner=owner)

        self.command(step)

    @precondition(lambda self: self.world.transfers)
    @rule(data=st.data())
    def progress(self, data: st.DataObject) -> None:
        """The next steps of an open transfer, as its parties would take them."""
        for _ in range(data.draw(st.integers(1, 4))):
            self.next_step(data)

    def next_step(self, data: st.DataObject) -> None:
        t = self.pick_transfer(
            data, {TransferStatus.PROPOSED, TransferStatus.APPROVED, TransferStatus.IN_TRANSIT}
        )
        if t is None:
            return
        if t.status is TransferStatus.PROPOSED:
            self.approve(data)
        elif t.status is TransferStatus.APPROVED and t.unpicked:
            self.pick_all(data)
        elif t.status is TransferStatus.APPROVED:
            self.dispatch(data)
        elif t.outstanding and data.draw(st.booleans()):
            self.receive_some(data)
        else:
            self.close(data)

    @precondition(lambda self: not self.world.merged)
    @rule(old=st.sampled_from(LIBRARIES), new=st.sampled_from(LIBRARIES))
    def merge(self, old: str, new: str) -> None:
        """`old` is merged into `new`: its stock goes on under `new` (services/stock_moves.py
        does the same on the store), and a transfer between the two is cancelled."""

        def step(w: World) -> None:
            for c in w.copies.values():
                c.replace_library(old, new, "merged")
            for t in w.transfers.values():
                if t.replace_library(old, new, "merged") and t.pointless:
                    t.cancel(t.sender, "merged: one library now")
                    for b in t.copies:
                        w.copies[b].leave_transfer(str(t.id), "cancelled by the merge")
            w.merged.add(old)

        if old != new:
            self.command(step)

    @invariant()
    def nothing_names_a_merged_library(self) -> None:
        for old in self.world.merged:
            for c in self.world.copies.values():
                assert old not in (c.owner, c.holder, (c.loan or {}).get("with"))
                assert all(q["to"] != old for q in c.queue)
            for t in self.world.transfers.values():
                if t.status in (TransferStatus.PROPOSED, TransferStatus.APPROVED):
                    assert old not in (t.sender, t.receiver)

    # -- loans and the desk -----------------------------------------------------------------
    @rule(barcode=st.sampled_from([f"BC-{n}" for n in range(4)]), to=st.sampled_from(LIBRARIES))
    def lend_on_ill(self, barcode: str, to: str) -> None:
        if to in self.world.merged:
            return

        def step(w: World) -> None:
            c = w.copies[barcode]
            c.lend_on_ill(c.holder, f"req-{w.now.isoformat()}", to, "W-KIEU")

        self.command(step)

    @rule(barcode=st.sampled_from([f"BC-{n}" for n in range(4)]), lost=st.booleans())
    def end_ill_loan(self, barcode: str, lost: bool) -> None:
        def step(w: World) -> None:
            c = w.copies[barcode]
            request = (c.loan or {}).get("request", "none")
            if lost:
                c.lose_on_loan(request, "Lost")
            else:
                c.end_ill_loan(request)

        self.command(step)

    @rule(barcode=st.sampled_from([f"BC-{n}" for n in range(4)]), at=st.sampled_from(LIBRARIES))
    def check_out_then_in_somewhere(self, barcode: str, at: str) -> None:
        if at in self.world.merged:
            return
        self.command(lambda w: w.copies[barcode].check_out(w.copies[barcode].holder, "BD-1"))
        self.command(lambda w: w.copies[barcode].check_in(at))

    @rule(barcode=st.sampled_from([f"BC-{n}" for n in range(4)]), at=st.sampled_from(LIBRARIES))
    def turns_up_at(self, barcode: str, at: str) -> None:
        """Whatever the copy is doing, someone checks it in at `at`."""
        if at in self.world.merged:
            return
        self.command(lambda w: w.copies[barcode].check_in(at))

    @rule(barcode=st.sampled_from([f"BC-{n}" for n in range(4)]), ends=st.booleans())
    def backs_a_digital_loan(self, barcode: str, ends: bool) -> None:
        """The copy backs a digital loan (set aside on its shelf), or that loan ends."""

        def step(w: World) -> None:
            c = w.copies[barcode]
            if ends:
                c.end_set_aside(c.set_aside_for or "none")
            else:
                c.set_aside(f"loan-{w.now.isoformat()}")

        self.command(step)

    # -- what must always hold ---------------------------------------------------------------
    @invariant()
    def never_in_two_places(self) -> None:
        w = self.world
        for c in w.copies.values():
            travelling = [
                t
                for t in w.transfers.values()
                if t.status is TransferStatus.IN_TRANSIT
                and c.barcode in t.outstanding
                and c.reserved_for == str(t.id)
            ]
            assert len(travelling) == (1 if c.status is CopyStatus.IN_TRANSIT else 0), c.barcode
            at_a_library = c.status in (*SHELVED, CopyStatus.ON_LOAN)
            assert (c.location is not None) == at_a_library
            if c.status in SHELVED:
                assert c.location == c.holder
            assert c.status is not CopyStatus.ON_DEPOSIT or c.holder != c.owner

    @invariant()
    def reserved_only_while_a_transfer_holds_it(self) -> None:
        for c in self.world.copies.values():
            if c.reserved_for is None:
                continue
            t = self.world.transfers[c.reserved_for]
            picked = t.status is TransferStatus.APPROVED and c.barcode in t.picked
            travelling = t.status is TransferStatus.IN_TRANSIT and c.barcode in t.outstanding
            assert picked or travelling, (c.barcode, t.status, c.status)

    @invariant()
    def transfers_queue_on_a_copy_in_the_order_proposed(self) -> None:
        before_dispatch = (TransferStatus.PROPOSED, TransferStatus.APPROVED)
        for c in self.world.copies.values():
            expected = [
                tid
                for tid, t in self.world.transfers.items()  # in the order proposed
                if (t.status in before_dispatch and c.barcode in t.to_send)
                or (t.status is TransferStatus.IN_TRANSIT and c.barcode in t.outstanding)
            ]
            assert c.transfers == expected, c.barcode

    @invariant()
    def a_copy_set_aside_stays_on_its_shelf_lent_to_no_one(self) -> None:
        for c in self.world.copies.values():
            if c.set_aside_for is not None:
                assert c.status in SHELVED and c.reserved_for is None and not c.requestable

    @invariant()
    def never_requestable_in_transit(self) -> None:
        for c in self.world.copies.values():
            if c.status is CopyStatus.IN_TRANSIT:
                assert not c.requestable
            if c.reserved_for is not None:
                assert not c.requestable

    @invariant()
    def queues_name_only_open_transfers(self) -> None:
        for c in self.world.copies.values():
            for tid in c.transfers:
                assert self.world.transfers[tid].status in (
                    TransferStatus.PROPOSED,
                    TransferStatus.APPROVED,
                    TransferStatus.IN_TRANSIT,
                )

    @invariant()
    def history_replays_to_the_same_state(self) -> None:
        for agg in [*self.world.copies.values(), *self.world.transfers.values()]:
            replayed = None
            for stored in self.world.history[agg.id]:
                replayed = stored.mutate(replayed)
            assert replayed is not None and vars(replayed) == vars(agg)


TestCopyMachine = CopyMachine.TestCase
TestCopyMachine.settings = settings(max_examples=150, stateful_step_count=50, deadline=None)
