"""Interlibrary loan requests: create one with its rota, take an ISO 18626 action on one,
and what the timers do when a wait ends. Each command may carry a client request id: a
retry returns the first result and records nothing new (services/idempotency.py). Two
librarians acting on one request at once: one wins, the other gets a Conflict naming the
current state."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date, datetime
from typing import Any, Protocol
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.access import Actor
from domain.errors import Conflict, InvalidInput, NotFound
from domain.ill_request import IllRequest
from domain.ill_status import Status
from domain.iso_actions import iso_action
from domain.lending_policy import LendingPolicy
from domain.routing import Candidate, Rota, WorkFacts, build_rota
from domain.shipment import Shipment
from infra.network_app import NetworkApp
from services import aggregates
from services.copies import CopiesService
from services.digital import DigitalService
from services.idempotency import Idempotency, Planned, command_fingerprint
from services.shipments import new_shipment


class CandidateFinder(Protocol):
    """The libraries that hold a work, for its rota: the catalogue read model
    (projections/catalogue.py) in the composition root, or a test's fixed list."""

    def __call__(self, work: str) -> list[Candidate]: ...


def request_summary(req: IllRequest) -> dict[str, Any]:
    return {
        "id": str(req.id),
        "version": req.version,
        "status": req.status.value,
        "requester": req.requester,
        "supplier": req.supplier,
        "service_type": req.service_type.value,
        "due_date": req.due_date.isoformat() if req.due_date else None,
        "rota": req.rota,
    }


class RequestsService:
    def __init__(
        self,
        store: NetworkApp,
        candidates: CandidateFinder,
        idempotency: Idempotency,
        copies: CopiesService,
        digital: DigitalService,
    ) -> None:
        self.store = store
        self.copies = copies
        self.digital = digital
        self.candidates = candidates
        self.idempotency = idempotency

    def get_request(self, request_id: UUID) -> IllRequest:
        return aggregates.request(self.store, request_id)

    def request_parties(self, request_id: UUID) -> set[str]:
        """Every library party to a request (requester, every library on its rota); empty
        if there is no such request."""
        try:
            req = self.get_request(request_id)
        except NotFound:
            return set()
        return {req.requester, *(entry["library"] for entry in req.rota)}

    def answer_hours_of(self, libraries: list[str]) -> dict[str, int]:
        """Each library's answer time-out, from its lending policy."""
        return {
            code: aggregates.library(self.store, code).policy.answer_timeout_hours
            for code in libraries
        }

    def request_item(
        self,
        actor: Actor,
        *,
        requester: str,
        work: str,
        reader_ref: str,
        service_type: str = "Loan",
        needed_by: date | None = None,
        client_request_id: str | None = None,
        now: datetime,
    ) -> dict[str, Any]:
        """A librarian of `requester` asks for `work` for a reader: route and send."""
        req_lib = aggregates.library(self.store, requester)
        req_lib.refuse_work(now.date(), "requester")
        aggregates.check_card(self.store, reader_ref, now.date())  # valid network-wide
        the_work = aggregates.work(self.store, work)
        if not the_work.visible_to_kind(req_lib.kind.value):
            raise NotFound(f"work {work} is not in the union catalogue")  # its existence is secret
        facts = WorkFacts(
            the_work.code, the_work.kind.value, the_work.shipping.value, tuple(the_work.visible_to)
        )
        # Holders outside a restricted work's scope are excluded with the reason, like
        # any other: the requester is inside the scope (it sees the work and its holders).
        candidates = self.candidates(the_work.code)
        rota = self._open_rota(
            build_rota(requester, req_lib.locality, facts, service_type, candidates),
            requester,
            now.date(),
        )
        key = f"{requester}:{client_request_id}" if client_request_id else None
        fingerprint = command_fingerprint(
            "request_item",
            work=the_work.code,
            reader_ref=reader_ref.strip(),
            service_type=service_type,
            needed_by=needed_by,
        )
        request_id = (
            uuid.uuid5(uuid.NAMESPACE_URL, f"libshare:request:{key}") if key else uuid.uuid4()
        )

        # A never-ship work no library may post: its digital copy, if a pool lends it now.
        # With none free, a place on its waitlist (ADR 0022).
        digital = waitlist = None
        if not rota.entries and facts.shipping == "never" and service_type == "Loan":
            digital = self.digital.ill_offer(the_work.code, requester, reader_ref.strip(), now)
            if digital is None:
                waitlist = self.digital.ill_waitlist(
                    the_work.code, requester, reader_ref.strip(), now
                )
        if digital is not None:
            entry = {"library": digital, "reason": "a digital copy, delivered as a URL"}
            rota = Rota([entry], rota.excluded)
        elif waitlist is not None:
            entry = {"library": waitlist, "reason": "a digital copy, from its waitlist"}
            rota = Rota([entry], rota.excluded)

        def plan() -> Planned:
            req = IllRequest.request(
                request_id=request_id,
                requester=requester,
                work=the_work.code,
                reader_ref=reader_ref,
                service_type=service_type,
                needed_by=needed_by,
                rota=rota.entries,
                excluded=rota.excluded,
                now=now,
                answer_hours=self.answer_hours_of([e["library"] for e in rota.entries[:1]]),
            )
            changed: list[Aggregate] = [req]
            if digital is not None:
                changed += self.digital.lend_for_ill(req, now)
            elif waitlist is not None:
                changed += self.digital.wait_for_ill(req, now)
            return changed, request_summary(req)

        return self.idempotency.run(actor, key, fingerprint, plan)

    def _open_rota(self, rota: Rota, requester: str, today: date) -> Rota:
        """The rota as the write side knows the libraries now (the read model may lag a
        reorganisation, ADR 0021): a library merged by today is excluded with the reason,
        a re-coded one is asked under its code of now."""
        entries: list[dict[str, str]] = []
        excluded = list(rota.excluded)
        for entry in rota.entries:
            lib = aggregates.current_library(self.store, entry["library"])
            if lib.merged_on(today):
                excluded.append({"library": lib.code, "reason": f"merged into {lib.merged_into}"})
            elif lib.code != requester and not any(e["library"] == lib.code for e in entries):
                entries.append({**entry, "library": lib.code})
        return Rota(entries, excluded)

    def take_action(
        self,
        actor: Actor,
        request_id: UUID,
        *,
        library: str,
        action: str,
        params: dict[str, Any],
        client_request_id: str | None = None,
        expected_version: int | None = None,
        now: datetime,
        also: Callable[[IllRequest], list[Aggregate]] | None = None,
    ) -> dict[str, Any]:
        """One ISO 18626 action on a request by a librarian of `library` (`also`: other
        aggregates to save with it, e.g. the ISO 18626 message that asked for it)."""
        key = f"{library}:{client_request_id}" if client_request_id else None
        fingerprint = command_fingerprint(
            "act", request_id=request_id, action=action, params=params
        )

        def plan() -> Planned:
            req = self.get_request(request_id)
            if expected_version is not None and req.version != expected_version:
                raise Conflict(
                    f"the request is at version {req.version} ({req.status.value}), "
                    f"not {expected_version}; reload it",
                    current=request_summary(req),
                )
            waited = req.waits_digitally
            others = self._apply_action(req, library, action, params, now)
            others += self._digital_wait_follows(req, waited, now)
            others += also(req) if also is not None else []
            return [req, *others], request_summary(req)

        return self.idempotency.run(
            actor, key, fingerprint, plan, lambda: request_summary(self.get_request(request_id))
        )

    def ship_together(
        self,
        actor: Actor,
        *,
        library: str,
        action: str,
        items: list[tuple[UUID, str]],
        shipment: dict[str, Any],
        client_request_id: str | None = None,
        now: datetime,
    ) -> dict[str, Any]:
        """Several requests' items in one parcel under one waybill, to one library: each
        request is Loaned (with its item) or ShippedReturn, and one shipment carries them
        all, in one transaction (all or nothing)."""
        if action not in ("Loaned", "ShippedReturn"):
            raise InvalidInput("items go together by post when lent (Loaned) or sent back")
        if not 1 <= len(items) <= 500 or len({r for r, _ in items}) != len(items):
            raise InvalidInput("name 1 to 500 different requests to ship together")
        key = f"{library}:{client_request_id}" if client_request_id else None
        fingerprint = command_fingerprint(
            "ship", action=action, items=[[str(r), i] for r, i in items], shipment=shipment
        )
        purpose = "loan" if action == "Loaned" else "return"

        def plan() -> Planned:
            changed: list[Aggregate] = []
            parcel: Shipment | None = None
            versions: dict[str, int] = {}
            for request_id, item_id in items:
                req = self.get_request(request_id)
                p = {"item_id": item_id} if action == "Loaned" else {}
                changed += [req, *self._apply_action(req, library, action, p, now)]
                if parcel is None:
                    parcel = new_shipment(self.store, req, library, purpose, shipment)
                else:
                    recipient = req.requester if purpose == "loan" else req.supplier
                    parcel.add_request(req.id, str(recipient))
                versions[str(req.id)] = req.version
            assert parcel is not None
            summary = {
                "shipment": str(parcel.id),
                "requests": parcel.requests,
                "versions": versions,
            }
            return [*changed, parcel], summary

        return self.idempotency.run(actor, key, fingerprint, plan)

    def _apply_action(
        self,
        req: IllRequest,
        library: str,
        action: str,
        p: dict[str, Any],
        now: datetime,
    ) -> list[Aggregate]:
        """Apply the action (domain/iso_actions.py's table); return other aggregates it
        changed or created, saved in the same transaction: a forwarded request, a
        shipment."""
        if action in ("Loaned", "ShippedReturn") and p.get("shipment"):
            purpose = "loan" if action == "Loaned" else "return"
            shipment = new_shipment(self.store, req, library, purpose, dict(p["shipment"]))
            rest = {k: v for k, v in p.items() if k != "shipment"}
            others = self._apply_action(req, library, action, rest, now)
            return [*others, shipment]
        if action == PEER_OVERDUE:  # an outside supplier's StatusChange Overdue (ADR 0028)
            req.supplier_says_overdue(library)
            return []
        changed = iso_action(action).run(req, library, p, _Policies(self, req, library, now))
        others = [changed] if changed is not None else []
        return [*others, *self._copy_follows(req, action, library, changed, p)]

    def _digital_wait_follows(
        self, req: IllRequest, waited: bool, now: datetime
    ) -> list[Aggregate]:
        """A request that waited on a digital pool's waitlist: a Cancel is answered at
        once (no librarian answers for the pool), and a request that no longer waits
        gives its place up, in the same transaction."""
        if not waited:
            return []
        if req.status is Status.CANCEL_PENDING and req.supplier is not None:
            req.answer_cancel(req.supplier, True, "its place on the waitlist is given up")
        return [] if req.waits_digitally else self.digital.drop_ill_wait(req, now)

    def _copy_follows(
        self,
        req: IllRequest,
        action: str,
        library: str,
        target: Aggregate | None,
        p: dict[str, Any],
    ) -> list[Aggregate]:
        """The copy a loan names moves with it (domain/copy.py): Loaned lends a copy the
        supplier holds; it comes back with LoanCompleted, goes missing with
        CompletedWithoutReturn, and on with ShippedForward. A copy that went elsewhere in
        the meantime (checked in at another library) is not moved back silently."""
        if req.item_id is None or action not in _COPY_ACTIONS or p.get("outside_item"):
            return []  # (an outside peer's item: no copy of ours, ADR 0028)
        if action == "Loaned":
            copy = self.copies.for_ill(req.item_id)
            copy.lend_on_ill(library, str(req.id), req.requester, req.work)
            return [copy]
        try:
            copy = self.copies.get(req.item_id)
        except (NotFound, InvalidInput):
            return []  # lent before copies were registered one by one
        if copy.loan is None or copy.loan.get("request") != str(req.id):
            return []
        if action == "ShippedForward":
            assert isinstance(target, IllRequest)
            copy.forward_loan(str(req.id), str(target.id), target.requester)
        elif action == "LoanCompleted":
            copy.end_ill_loan(str(req.id))
        else:
            reason = "Lost" if action == "Lost" else p.get("reason")
            copy.lose_on_loan(str(req.id), str(reason or "CompletedWithoutReturn"))
        return [copy]

    # -- when a wait ends (the timers) ----------------------------------------------------
    def expire_answer(self, actor: Actor, request_id: UUID, now: datetime) -> dict[str, Any]:
        """A wait passed its deadline: the party is reminded, or the wait ends."""
        req = self.get_request(request_id)
        current = [req.supplier] if req.supplier else []
        upcoming = [e["library"] for e in req.rota[req.rota_index + 1 : req.rota_index + 2]]
        waited = req.waits_digitally
        req.time_out(now, self.answer_hours_of([*current, *upcoming]))
        self.store.record(req, *self._digital_wait_follows(req, waited, now), actor=actor)
        return request_summary(req)

    def mark_overdue(self, actor: Actor, request_id: UUID, today: date) -> dict[str, Any]:
        req = self.get_request(request_id)
        req.mark_overdue(today)
        if req.last_reminder is None or req.last_reminder < today:  # (recalled, overdue again)
            req.remind(today)
        self.store.record(req, actor=actor)
        return request_summary(req)

    def forget_reader(
        self, actor: Actor, request_id: UUID, today: date, keep_days: int
    ) -> dict[str, Any]:
        req = self.get_request(request_id)
        if req.forget_reader(today, keep_days):
            self.store.record(req, actor=actor)
        return request_summary(req)

    def remind(self, actor: Actor, request_id: UUID, today: date) -> dict[str, Any]:
        req = self.get_request(request_id)
        req.remind(today)
        self.store.record(req, actor=actor)
        return request_summary(req)


# Not an action our librarians are offered (our timers decide our loans' Overdue): an
# outside supplier's status, which only the ISO 18626 inbound applies.
PEER_OVERDUE = "Overdue:peer"
_COPY_ACTIONS = frozenset(
    {"Loaned", "ShippedForward", "LoanCompleted", "CompletedWithoutReturn", "Lost"}
)


class _Policies:
    """An action's context (domain/iso_actions.py): the time, and the policies of the
    libraries it concerns, each loaded only if the action needs it."""

    def __init__(self, service: RequestsService, req: IllRequest, library: str, now: datetime):
        self.service, self.req, self.library, self._now = service, req, library, now

    @property
    def now(self) -> datetime:
        return self._now

    def answer_hours(self) -> dict[str, int]:
        return self.service.answer_hours_of([self.req.supplier or self.library])

    def upcoming_hours(self) -> dict[str, int]:
        req = self.req
        return self.service.answer_hours_of(
            [e["library"] for e in req.rota[req.rota_index + 1 : req.rota_index + 2]]
        )

    def supplier_policy(self) -> LendingPolicy:
        return aggregates.library(self.service.store, self.req.supplier or self.library).policy

    def request(self, request_id: UUID) -> IllRequest:
        return self.service.get_request(request_id)
