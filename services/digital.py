"""Digital lending (ADR 0022): rights per digitised work, its pool of digital copies
(domain/digital_pool.py) with loans and a waitlist, the readers' shelves that hold the
caps per reader (domain/digital_shelf.py), and access through signed viewer links, each
page served an event (domain/digital_access.py). A command saves the pool and every
shelf it changes in one transaction. Viewer links and pages: services/digital_access.py."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import Aggregate

from domain.access import Actor
from domain.catalogue import Holding, Work
from domain.copy import Copy
from domain.digital_errors import NotLendable
from domain.digital_pool import DigitalPool
from domain.digital_rights import Rights
from domain.digital_shelf import HOLD, LOAN, DigitalShelf
from domain.digital_terms import (
    COOLING_OFF,
    ILL_WAIT,
    MAX_HOLDS_PER_READER,
    MAX_LOANS_PER_READER,
    loan_period,
)
from domain.errors import DomainError, InvalidInput, NotFound
from domain.ill_request import IllRequest
from infra.network_app import NetworkApp
from services import aggregates
from services.idempotency import Idempotency, Planned, command_fingerprint

Holdings = dict[str, tuple[bool, bool]]  # reader -> (has a loan, has a hold)


def _standing(pool: DigitalPool) -> Holdings:
    readers = {ln["reader_ref"] for ln in pool.loans.values()} | {
        h["reader_ref"] for h in pool.holds
    }
    return {r: (pool.loan_of(r) is not None, pool.hold_of(r) is not None) for r in readers}


def ill_loan_id(request_id: UUID) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"libshare:digital-loan:ill:{request_id}"))


def viewer_url(work: str, loan_id: str) -> str:
    """Where the requesting library's reader gets a viewer link for the loan."""
    return f"/digital/{work}/loans/{loan_id}/link"


def plain(result: dict[str, Any]) -> dict[str, Any]:
    """A result as JSON has it (times and days in ISO 8601), the same whether a command
    ran or a retry of it was answered from its idempotency key."""
    found: dict[str, Any] = json.loads(json.dumps(result, default=lambda v: v.isoformat()))
    return found


class DigitalService:
    def __init__(self, store: NetworkApp, idempotency: Idempotency) -> None:
        self.store = store
        self.idempotency = idempotency

    # -- finding ------------------------------------------------------------------------------
    def pool(self, work: str) -> DigitalPool:
        return aggregates.digital_pool(self.store, work)

    def current_pool(self, work: str) -> DigitalPool | None:
        """The pool as it is now, for reading only (never change the object)."""
        return aggregates.current_digital_pool(self.store, work)

    def visible(self, work: str, scope: str | None) -> bool:
        """Whether a work is in the catalogue an account of library kind `scope` sees
        (None: every work; a work outside a visibility scope is as if there were none)."""
        try:
            found: Any = self.store.fresh.get(Work.id_for(work.strip().upper()))
        except AggregateNotFoundError:
            return False
        return isinstance(found, Work) and (scope is None or found.visible_to_kind(scope))

    def holder(self, work: str) -> str | None:
        pool = self.current_pool(work)
        return pool.library if pool else None

    def loan_parties(self, work: str, loan_id: str) -> set[str]:
        """The holding library and the reader's library of a loan (none if no loan)."""
        pool = self.current_pool(work)
        loan = pool.loans.get(loan_id) if pool else None
        return {pool.library, loan["library"]} if pool and loan else set()

    def hold_parties(self, work: str, reader_ref: str) -> set[str]:
        pool = self.current_pool(work)
        hold = pool.hold_of(reader_ref) if pool else None
        return {pool.library, hold["library"]} if pool and hold else set()

    def _shelf(self, reader_ref: str) -> DigitalShelf:
        try:
            found: Any = self.store.repository.get(DigitalShelf.id_for(reader_ref))
        except AggregateNotFoundError:
            return DigitalShelf.open(reader_ref)
        assert isinstance(found, DigitalShelf)
        return found

    def _run(
        self,
        actor: Actor,
        work: str,
        change: Callable[[DigitalPool], dict[str, Any]],
        now: datetime,
        key: str | None = None,
        fingerprint: str = "",
        pool: DigitalPool | None = None,
    ) -> dict[str, Any]:
        """Change the pool, bring the shelves of the readers it changed along, save."""

        def plan() -> Planned:
            the_pool = pool or self.pool(work)
            changed, result = self.changing(the_pool, change, now)
            return changed, plain({**the_pool.summary(now), **result})

        return self.idempotency.run(actor, key, fingerprint, plan)

    def changing(
        self, pool: DigitalPool, change: Callable[[DigitalPool], dict[str, Any]], now: datetime
    ) -> tuple[list[Aggregate], dict[str, Any]]:
        """Change the pool; bring along the shelves of the readers it changed and the ILL
        requests whose digital loans it ended: all to be saved together."""
        before, loans = _standing(pool), {k: dict(v) for k, v in pool.loans.items()}
        result = change(pool)
        lent_for_ill, refused = self._lend_ill_offers(pool, now)
        after = _standing(pool)
        changed: list[Aggregate] = [pool]
        for reader in sorted(before.keys() | after.keys()):
            was, now_is = before.get(reader, (False, False)), after.get(reader, (False, False))
            if was == now_is:
                continue
            shelf = self._shelf(reader)
            for had, has, what in ((was[0], now_is[0], LOAN), (was[1], now_is[1], HOLD)):
                if had and not has:
                    shelf.release(pool.work, what)
                elif has and not had:
                    shelf.take(pool.work, what)
            changed.append(shelf)
        changed += self._set_aside(loans, pool.loans)
        for loan_id, loan in loans.items():
            if not loan.get("ill_request"):
                continue
            ended, after_loan = loan_id not in pool.loans, pool.loans.get(loan_id, {})
            if ended or after_loan.get("due_at") != loan["due_at"]:
                request = aggregates.request(self.store, UUID(loan["ill_request"]))
                if ended:
                    request.digital_loan_ended(now)
                else:
                    request.digital_loan_renewed(after_loan["due_at"].date())
                changed.append(request)
        for request, loan_id in lent_for_ill:
            due = pool.loans[loan_id]["due_at"]
            url = viewer_url(pool.work, loan_id)
            request.lend_digitally(pool.library, loan_id, url, now, due.date())
            changed.append(request)
        return changed + refused, result

    def _set_aside(
        self, before: dict[str, dict[str, Any]], after: dict[str, dict[str, Any]]
    ) -> list[Aggregate]:
        """The physical copy backing each new loan is set aside, and released when its
        loan ends, on the copy itself and in the pool's transaction: a desk check-out or
        an ILL loan of it at the same moment conflicts with this save (ADR 0022). A copy
        released and set aside again in one change (a freed copy lent to a waiting ILL
        request) is one object, released first."""
        copies: dict[str, Copy] = {}

        def copy(barcode: str) -> Copy:
            return copies.setdefault(barcode, aggregates.copy(self.store, barcode))

        for loan_id in before.keys() - after.keys():
            if before[loan_id].get("backing"):
                copy(before[loan_id]["backing"]).end_set_aside(loan_id)
        for loan_id in after.keys() - before.keys():
            if after[loan_id].get("backing"):
                copy(after[loan_id]["backing"]).set_aside(loan_id)
        return list(copies.values())

    # -- interlibrary loans of never-ship works (ISO Loaned, delivered format URL) ---------
    def _ill_pool(
        self, work: str, requester: str, reader_ref: str, now: datetime
    ) -> DigitalPool | None:
        """The pool of `work` if it lends to readers of `requester` and this reader may
        borrow or wait for it (no loan or place of theirs on it, past the cooling-off)."""
        pool = self.current_pool(work)
        if pool is None or pool.library == requester or pool.allowed(now.date()) == 0:
            return None
        ended = pool.last_ended.get(reader_ref)
        if not pool.rights.lends_to(pool.library, requester) or pool.loan_of(reader_ref):
            return None
        if pool.hold_of(reader_ref) or (ended is not None and now < ended + COOLING_OFF):
            return None
        return pool

    def _reader_shelf(self, reader_ref: str) -> DigitalShelf | None:
        try:
            shelf: Any = self.store.fresh.get(DigitalShelf.id_for(reader_ref))
        except AggregateNotFoundError:
            return None
        return shelf if isinstance(shelf, DigitalShelf) else None

    def ill_offer(self, work: str, requester: str, reader_ref: str, now: datetime) -> str | None:
        """The library whose pool would lend `work` digitally to a reader of `requester`
        now (None: none would)."""
        pool = self._ill_pool(work, requester, reader_ref, now)
        if pool is None or pool.free(now.date()) == 0:
            return None
        shelf = self._reader_shelf(reader_ref)
        if shelf is not None and len(shelf.loans) >= MAX_LOANS_PER_READER:
            return None
        return pool.library

    def ill_waitlist(self, work: str, requester: str, reader_ref: str, now: datetime) -> str | None:
        """The library whose pool would put a reader of `requester` on its waitlist for
        `work`, as no copy is free now (None: none would)."""
        pool = self._ill_pool(work, requester, reader_ref, now)
        if pool is None or pool.free(now.date()) > 0:
            return None
        shelf = self._reader_shelf(reader_ref)
        if shelf is not None and len(shelf.holds) >= MAX_HOLDS_PER_READER:
            return None
        return pool.library

    def lend_for_ill(self, request: IllRequest, now: datetime) -> list[Aggregate]:
        """Answer an ILL request with a digital loan of the supplier's pool: the pool's
        Lent and the request's Loaned (delivered format URL), saved together."""
        pool = self.pool(request.work)
        loan_id = ill_loan_id(request.id)

        def change(p: DigitalPool) -> dict[str, Any]:
            period = loan_period(p.kind, "adult")
            p.lend(
                loan_id,
                request.reader_ref,
                request.requester,
                "adult",
                now,
                period,
                str(request.id),
                unavailable=self._off_shelf(p),
            )
            return {}

        changed, _ = self.changing(pool, change, now)
        due = pool.loans[loan_id]["due_at"]
        request.lend_digitally(
            pool.library, loan_id, viewer_url(pool.work, loan_id), now, due.date()
        )
        return changed

    def wait_for_ill(self, request: IllRequest, now: datetime) -> list[Aggregate]:
        """Answer an ILL request with a place on the supplier's waitlist (ISO
        ExpectToSupply): the copy offered to it is lent to it at once (`changing`)."""
        pool = self.pool(request.work)

        def change(p: DigitalPool) -> dict[str, Any]:
            p.place_hold(request.reader_ref, request.requester, "adult", now, str(request.id))
            return {}

        changed, _ = self.changing(pool, change, now)
        position = pool.position(request.reader_ref) or 1
        until = now + ILL_WAIT
        if request.needed_by is not None:
            needed = datetime.combine(request.needed_by + timedelta(days=1), time(), now.tzinfo)
            until = min(until, needed)
        request.wait_for_digital_copy(pool.library, position, until)
        return changed

    def drop_ill_wait(self, request: IllRequest, now: datetime) -> list[Aggregate]:
        """An ILL request left the waitlist's wait (cancelled, timed out, answered by
        hand): its place goes to the next in line, in the request's transaction."""
        pool = self.pool(request.work)
        hold = pool.hold_of(request.reader_ref)
        if hold is None or hold.get("ill_request") != str(request.id):
            return []

        def change(p: DigitalPool) -> dict[str, Any]:
            p.cancel_hold(request.reader_ref, now)
            return {}

        changed, _ = self.changing(pool, change, now)
        return changed

    def _lend_ill_offers(
        self, pool: DigitalPool, now: datetime
    ) -> tuple[list[tuple[IllRequest, str]], list[Aggregate]]:
        """A copy offered to an ILL request's hold is lent to it at once, as Libby's
        "borrow automatically" does (ADR 0022). A request no longer waiting gives its
        place up; one whose reader may not borrow now (a cap, the cooling-off) is
        skipped with the reason. The loans made, and the requests refused."""
        lent: list[tuple[IllRequest, str]] = []
        refused: list[Aggregate] = []
        while pool.ill_offers:
            hold = pool.ill_offers[0]
            request = aggregates.request(self.store, UUID(hold["ill_request"]))
            if not (request.waits_digitally and request.supplier == pool.library):
                pool.cancel_hold(hold["reader_ref"], now)
                continue
            loan_id = ill_loan_id(request.id)
            kind = hold["reader_type"]
            try:
                self._shelf(hold["reader_ref"]).take(pool.work, LOAN)  # the cap, checked here
                pool.lend(
                    loan_id,
                    hold["reader_ref"],
                    hold["library"],
                    kind,
                    now,
                    loan_period(pool.kind, kind),
                    str(request.id),
                    unavailable=self._off_shelf(pool),
                )
            except DomainError:
                pool.cancel_hold(hold["reader_ref"], now)
                request.digital_copy_refused("NotAvailableForILL", now)
                refused.append(request)
                continue
            lent.append((request, loan_id))
        return lent, refused

    # -- the holding library --------------------------------------------------------------
    def record_rights(
        self, actor: Actor, work: str, library: str, rights: dict[str, Any], now: datetime
    ) -> dict[str, Any]:
        """Record the rights a digitised work is lent under; the first record opens its
        pool at `library`, which must hold the work."""
        the_work = aggregates.work(self.store, work)
        if not the_work.digital:
            raise NotLendable(f"work {the_work.code} is not digitised")
        recorded = Rights.of(**rights)
        existing = self.current_pool(the_work.code)
        pool = None
        if existing is None:
            try:
                self.store.repository.get(Holding.id_for(the_work.code, library))
            except AggregateNotFoundError:
                raise NotFound(f"{library} holds no copy of {the_work.code}") from None
            pool = DigitalPool.open(the_work.code, the_work.kind.value, library)

        def change(p: DigitalPool) -> dict[str, Any]:
            p.record_rights(recorded, now)
            return {}

        return self._run(actor, the_work.code, change, now, pool=pool)

    def set_lendable(
        self, actor: Actor, work: str, count: int, backing: list[str], now: datetime
    ) -> dict[str, Any]:
        """How many digital copies lend at once (each named physical copy backs one and is
        set aside while it is lent). Lowering it never cuts a loan."""
        copies = [aggregates.copy(self.store, b) for b in backing]

        def change(p: DigitalPool) -> dict[str, Any]:
            for c in copies:
                if c.work != p.work or c.owner != p.library:
                    raise InvalidInput(
                        f"copy {c.barcode} is not {p.library}'s copy of {p.work}: only its "
                        "own copies back its digital ones"
                    )
            p.set_lendable(count, [c.barcode for c in copies], now)
            return {}

        return self._run(actor, work, change, now)

    # -- readers, through their library's librarian ----------------------------------------
    def borrow(
        self,
        actor: Actor,
        work: str,
        *,
        reader_ref: str,
        library: str,
        reader_type: str,
        client_request_id: str | None,
        now: datetime,
    ) -> dict[str, Any]:
        key = f"{library}:{client_request_id}" if client_request_id else None
        loan_id = str(
            uuid.uuid5(uuid.NAMESPACE_URL, f"libshare:digital-loan:{key}") if key else uuid.uuid4()
        )
        fingerprint = command_fingerprint(
            "digital_borrow", work=work.upper(), reader_ref=reader_ref, reader_type=reader_type
        )

        aggregates.check_card(self.store, reader_ref, now.date())  # valid network-wide

        def change(p: DigitalPool) -> dict[str, Any]:
            period = loan_period(p.kind, reader_type)
            off = self._off_shelf(p)
            p.lend(loan_id, reader_ref, library, reader_type, now, period, unavailable=off)
            return self._loan_view(p, loan_id)

        return self._run(actor, work, change, now, key, fingerprint)

    def _off_shelf(self, pool: DigitalPool) -> frozenset[str]:
        """The physical copies backing the pool that are not on a shelf to be set aside
        (lent at the desk or on ILL, in transit, missing, withdrawn)."""
        return frozenset(
            b
            for b in pool.backing
            if not aggregates.copy(self.store, b).requestable_besides(pool.loans.keys())
        )

    def _loan_view(self, pool: DigitalPool, loan_id: str) -> dict[str, Any]:
        loan = pool.loans[loan_id]
        return {
            "loan_id": loan_id,
            "reader_ref": loan["reader_ref"],
            "due_at": loan["due_at"],
            "backing": loan["backing"],
            "renewals": loan["renewals"],
        }

    def give_back(self, actor: Actor, work: str, loan_id: str, now: datetime) -> dict[str, Any]:
        def change(p: DigitalPool) -> dict[str, Any]:
            p.give_back(loan_id, now)
            return {"loan_id": loan_id, "ended": "returned"}

        return self._run(actor, work, change, now)

    def renew(self, actor: Actor, work: str, loan_id: str, now: datetime) -> dict[str, Any]:
        def change(p: DigitalPool) -> dict[str, Any]:
            loan = p.loans.get(loan_id) or {}
            p.renew(loan_id, now, loan_period(p.kind, str(loan.get("reader_type", "adult"))))
            return self._loan_view(p, loan_id)

        return self._run(actor, work, change, now)

    def place_hold(
        self,
        actor: Actor,
        work: str,
        *,
        reader_ref: str,
        library: str,
        reader_type: str,
        client_request_id: str | None,
        now: datetime,
    ) -> dict[str, Any]:
        key = f"{library}:{client_request_id}" if client_request_id else None
        fingerprint = command_fingerprint(
            "digital_hold", work=work.upper(), reader_ref=reader_ref, reader_type=reader_type
        )

        aggregates.check_card(self.store, reader_ref, now.date())  # valid network-wide

        def change(p: DigitalPool) -> dict[str, Any]:
            p.place_hold(reader_ref, library, reader_type, now)
            return {"reader_ref": reader_ref, "position": p.position(reader_ref)}

        return self._run(actor, work, change, now, key, fingerprint)

    def hold_step(
        self, actor: Actor, work: str, reader_ref: str, action: str, now: datetime
    ) -> dict[str, Any]:
        """skip (the one courtesy skip of an offer), cancel, or lapse (the timers)."""

        def change(p: DigitalPool) -> dict[str, Any]:
            {"skip": p.skip, "cancel": p.cancel_hold, "lapse": p.lapse}[action](reader_ref, now)
            return {"reader_ref": reader_ref, "position": p.position(reader_ref)}

        return self._run(actor, work, change, now)

    def expire(self, actor: Actor, work: str, loan_id: str, now: datetime) -> dict[str, Any]:
        def change(p: DigitalPool) -> dict[str, Any]:
            p.expire(loan_id, now)
            return {"loan_id": loan_id, "ended": "expired"}

        return self._run(actor, work, change, now)

    def forget_readers(
        self, actor: Actor, work: str, today: date, keep_days: int
    ) -> dict[str, Any]:
        """The timers: loans ended more than `keep_days` ago forget their readers."""

        def change(p: DigitalPool) -> dict[str, Any]:
            return {"forgotten": p.forget_readers(today, keep_days)}

        return self._run(actor, work, change, datetime.combine(today, time(), UTC))

    # -- a reader's own view (services/digital_self.py) -----------------------------------
    def loan_of(self, work: str, reader_ref: str) -> str:
        pool = self.current_pool(work)
        loan_id = pool.loan_of(reader_ref) if pool else None
        if pool is None or loan_id is None:
            raise NotFound(f"you have no digital loan of {work}")
        return loan_id

    def shelf_view(self, reader_ref: str, now: datetime) -> dict[str, Any]:
        """A reader's digital loans and places, across the network. A place with a copy
        offered shows until when it waits for them: the notice of the offer."""
        shelf = self._reader_shelf(reader_ref)
        loans: list[dict[str, Any]] = []
        places: list[dict[str, Any]] = []
        for work in sorted({*(shelf.loans if shelf else []), *(shelf.holds if shelf else [])}):
            pool = self.current_pool(work)
            if pool is None:
                continue
            loan_id, hold = pool.loan_of(reader_ref), pool.hold_of(reader_ref)
            if loan_id is not None:
                loan = pool.loans[loan_id]
                loans.append(
                    {"work": work, "library": pool.library, **self._loan_view(pool, loan_id)}
                    | {"lent_at": loan["lent_at"]}
                )
            if hold is not None:
                places.append(
                    {
                        "work": work,
                        "library": pool.library,
                        "position": pool.position(reader_ref),
                        "waiting": len(pool.holds),
                        "offered_until": hold["offered_until"],
                        "skipped": hold["skipped"],
                    }
                )
        offers = [p for p in places if p["offered_until"] is not None]
        return plain({"reader_ref": reader_ref, "loans": loans, "holds": places, "offers": offers})
