"""The write side's ILL commands: the union catalogue (works, holdings, policies) and
requests (create with a rota, act on one). Each command may carry a client request id:
a retry returns the first result and records nothing new. Two librarians acting on one
request at once: one wins, the other gets a Conflict naming the current state."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable
from datetime import date, datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError

from domain.catalogue import Holding, Work
from domain.errors import AlreadyExists, Conflict, IdempotencyKeyReused, InvalidInput, NotFound
from domain.ill_request import IllRequest
from domain.lending_policy import LendingPolicy
from domain.library import Library
from domain.routing import Candidate, WorkFacts, build_rota

if TYPE_CHECKING:
    from infra.event_store import LibshareRecorder
    from infra.network_app import NetworkApp

CandidateFinder = Callable[[str], list[Candidate]]


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


class IllCommands:
    """Mixed into NetworkApp (see infra/network_app.py)."""

    candidate_finder: CandidateFinder = staticmethod(lambda work: [])  # type: ignore[assignment]

    # -- catalogue ------------------------------------------------------------------------------
    def register_work(self: NetworkApp, **fields: Any) -> tuple[Work, bool]:
        work = Work.register(**fields)
        try:
            self._save(work)
            return work, True
        except IntegrityError:
            existing: Work = self.repository.get(work.id)
            if (existing.title, existing.kind, existing.shipping) != (
                work.title,
                work.kind,
                work.shipping,
            ):
                raise AlreadyExists(f"work {work.code} exists with other data") from None
            return existing, False

    def register_holding(
        self: NetworkApp, work: str, library: str, copies: int, digital_lendable: int = 0
    ) -> Holding:
        self.get_work(work)
        self.get_library(library)
        holding = Holding.register(work, library, copies, digital_lendable)
        try:
            self._save(holding)
            return holding
        except IntegrityError:
            existing: Holding = self.repository.get(holding.id)
            existing.change_copies(copies, digital_lendable)
            self._save(existing)
            return existing

    def get_work(self: NetworkApp, code: str) -> Work:
        try:
            work: Work = self.repository.get(Work.id_for(code.strip().upper()))
        except AggregateNotFoundError:
            raise NotFound(f"work {code} is not in the union catalogue") from None
        return work

    def set_policy(self: NetworkApp, library: str, policy: LendingPolicy) -> Library:
        lib = self.get_library(library)
        lib.set_policy(policy)
        self._save(lib)
        return lib

    # -- requests -------------------------------------------------------------------------------
    def request_parties(self: NetworkApp, request_id: UUID) -> set[str]:
        """Every library party to a request (requester, every library on its rota); empty
        if there is no such request."""
        try:
            req = self.get_request(request_id)
        except NotFound:
            return set()
        return {req.requester, *(entry["library"] for entry in req.rota)}

    def get_request(self: NetworkApp, request_id: UUID) -> IllRequest:
        try:
            req: IllRequest = self.repository.get(request_id)
        except AggregateNotFoundError:
            raise NotFound(f"request {request_id} does not exist") from None
        if not isinstance(req, IllRequest):
            raise NotFound(f"request {request_id} does not exist")
        return req

    def _answer_hours(self: NetworkApp, libraries: list[str]) -> dict[str, int]:
        return {code: self.get_library(code).policy.answer_timeout_hours for code in libraries}

    def _idempotent(
        self: NetworkApp,
        key: str | None,
        fingerprint: str,
        run: Callable[[], tuple[list[Any], dict[str, Any]]],
        current: Callable[[], dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """Run a command once per key: a retry (the same command) gets the first result
        back; the key reused for a different command is refused."""
        if key:
            prior = self._replay(key, fingerprint)
            if prior is not None:
                return prior
        aggregates, result = run()
        command = {"key": key, "fingerprint": fingerprint, "result": result} if key else None
        try:
            self._save(*aggregates, command=command)
        except IntegrityError:
            if key:
                prior = self._replay(key, fingerprint)
                if prior is not None:
                    return prior
            state = current() if current else {}
            raise Conflict(
                "the request was changed by someone else first; reload it and retry"
                + (
                    f" (now {state.get('status')}, version {state.get('version')})" if state else ""
                ),
                current=state or None,
            ) from None
        return result

    def _replay(self: NetworkApp, key: str, fingerprint: str) -> dict[str, Any] | None:
        """The first result of the command recorded with this key, if it is this command."""
        recorder: LibshareRecorder = self.recorder  # type: ignore[assignment]
        prior = recorder.recorded_command(key)
        if prior is None:
            return None
        if prior.fingerprint is not None and prior.fingerprint != fingerprint:
            client_id = key.split(":", 1)[1]
            raise IdempotencyKeyReused(
                f"client_request_id {client_id!r} was already used for another command"
                f" (on request {prior.result.get('id')}); use a new id for a new command"
            )
        return {**prior.result, "replayed": True}

    def request_item(
        self: NetworkApp,
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
        req_lib = self.get_library(requester)
        the_work = self.get_work(work)
        if not the_work.visible_to_kind(req_lib.kind.value):
            raise NotFound(f"work {work} is not in the union catalogue")  # its existence is secret
        facts = WorkFacts(
            the_work.code, the_work.kind.value, the_work.shipping.value, tuple(the_work.visible_to)
        )
        # Holders outside a restricted work's scope are excluded with the reason, like
        # any other: the requester is inside the scope (it sees the work and its holders).
        candidates = self.candidate_finder(the_work.code)
        rota = build_rota(requester, req_lib.locality, facts, service_type, candidates)
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

        def run() -> tuple[list[Any], dict[str, Any]]:
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
                answer_hours=self._answer_hours([e["library"] for e in rota.entries[:1]]),
            )
            return [req], request_summary(req)

        return self._idempotent(key, fingerprint, run)

    def act(
        self: NetworkApp,
        request_id: UUID,
        *,
        library: str,
        action: str,
        params: dict[str, Any],
        client_request_id: str | None = None,
        expected_version: int | None = None,
        now: datetime,
    ) -> dict[str, Any]:
        """One ISO 18626 action on a request by a librarian of `library`."""
        key = f"{library}:{client_request_id}" if client_request_id else None
        fingerprint = command_fingerprint(
            "act", request_id=request_id, action=action, params=params
        )

        def run() -> tuple[list[Any], dict[str, Any]]:
            req = self.get_request(request_id)
            if expected_version is not None and req.version != expected_version:
                raise Conflict(
                    f"the request is at version {req.version} ({req.status.value}), "
                    f"not {expected_version}; reload it",
                    current=request_summary(req),
                )
            others = self._apply_action(req, library, action, params, now)
            return [req, *others], request_summary(req)

        return self._idempotent(
            key, fingerprint, run, lambda: request_summary(self.get_request(request_id))
        )

    def _apply_action(
        self: NetworkApp,
        req: IllRequest,
        library: str,
        action: str,
        p: dict[str, Any],
        now: datetime,
    ) -> list[Any]:
        """Apply the action; return other aggregates it changed or created (saved in the
        same transaction): a forwarded request, a shipment."""
        if action in ("Loaned", "ShippedReturn") and p.get("shipment"):
            purpose = "loan" if action == "Loaned" else "return"
            shipment = self._dispatch(req, library, purpose, dict(p["shipment"]))
            rest = {k: v for k, v in p.items() if k != "shipment"}
            others = self._apply_action(req, library, action, rest, now)
            return [*others, shipment]  # type: ignore[list-item]
        if action == "ShippedForward":
            to = self.get_request(_uuid(p.get("to_request")))
            loan_days = self.get_library(req.supplier or library).policy.loan_days
            req.ship_forward(library, to, now, loan_days)
            return [to]

        def hours() -> dict[str, int]:
            upcoming = [e["library"] for e in req.rota[req.rota_index + 1 : req.rota_index + 2]]
            return self._answer_hours(upcoming)

        def supplier_policy() -> LendingPolicy:
            return self.get_library(req.supplier or library).policy

        def clock() -> dict[str, Any]:
            """For an answer that starts a wait: its deadline follows the supplier's policy."""
            return {"now": now, "answer_hours": self._answer_hours([req.supplier or library])}

        actions: dict[str, Callable[[], None]] = {
            "ExpectToSupply": lambda: req.expect_to_supply(library, p.get("note", ""), **clock()),
            "WillSupply": lambda: req.will_supply(library, p.get("note", ""), **clock()),
            "RetryPossible": lambda: req.propose_conditions(
                library,
                p.get("condition", ""),
                p.get("note", ""),
                p.get("cost"),
                _date(p.get("available_on")),
                **clock(),
            ),
            "Unfilled": lambda: req.unfilled(library, p.get("reason", ""), now, hours()),
            "Loaned": lambda: req.ship(
                library, p.get("item_id", ""), now, supplier_policy().loan_days
            ),
            "CopyCompleted": lambda: req.deliver_copy(library, p.get("note", ""), now),
            "CancelResponse": lambda: req.answer_cancel(
                library, _yes(p), p.get("reason", ""), **clock()
            ),
            "RenewResponse": lambda: req.answer_renew(
                library,
                _yes(p),
                supplier_policy().renewal_days,
                supplier_policy().renewals_allowed,
                p.get("reason", ""),
            ),
            "Recalled": lambda: req.recall(library, now),
            "LoanCompleted": lambda: req.check_in(library, now),
            "CompletedWithoutReturn": lambda: req.complete_without_return(
                library, p.get("reason", "")
            ),
            "AcceptConditions": lambda: req.accept_conditions(library, **clock()),
            "DeclineConditions": lambda: req.decline_conditions(library, now, hours()),
            "Cancel": lambda: req.cancel(library, p.get("reason", ""), **clock()),
            "Received": lambda: req.receive(library, now),
            "Renew": lambda: req.renew(library),
            "ShippedReturn": lambda: req.ship_return(library, now),
            "Notification": lambda: req.add_note(library, p.get("note", "")),
            "StatusRequest": lambda: req.status_request(library),
        }
        if action not in actions:
            known = ", ".join(sorted([*actions, "ShippedForward"]))
            raise InvalidInput(f"unknown action {action!r}; one of: {known}")
        actions[action]()
        return []

    # -- timers -----------------------------------------------------------------------------------
    def expire_answer(self: NetworkApp, request_id: UUID, now: datetime) -> dict[str, Any]:
        """A wait passed its deadline: the party is reminded, or the wait ends."""
        req = self.get_request(request_id)
        current = [req.supplier] if req.supplier else []
        upcoming = [e["library"] for e in req.rota[req.rota_index + 1 : req.rota_index + 2]]
        req.time_out(now, self._answer_hours([*current, *upcoming]))
        self._save(req)
        return request_summary(req)

    def mark_overdue(self: NetworkApp, request_id: UUID, today: date) -> dict[str, Any]:
        req = self.get_request(request_id)
        req.mark_overdue(today)
        if req.last_reminder is None or req.last_reminder < today:  # (recalled, overdue again)
            req.remind(today)
        self._save(req)
        return request_summary(req)

    def remind(self: NetworkApp, request_id: UUID, today: date) -> dict[str, Any]:
        req = self.get_request(request_id)
        req.remind(today)
        self._save(req)
        return request_summary(req)


def command_fingerprint(command: str, **arguments: Any) -> str:
    """What a command was, for its idempotency key: its name and arguments (not its
    preconditions, such as expected_version, nor the time it ran)."""
    text = json.dumps({"command": command, **arguments}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _yes(p: dict[str, Any]) -> bool:
    answer = p.get("answer")
    if answer not in ("Y", "N", True, False):
        raise InvalidInput("answer must be 'Y' or 'N'")
    return answer in ("Y", True)


def _uuid(value: Any) -> UUID:
    try:
        return UUID(str(value))
    except ValueError:
        raise InvalidInput(f"{value!r} is not a request id") from None


def _date(value: Any) -> date | None:
    if value in (None, ""):
        return None
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise InvalidInput(f"{value!r} is not a date (YYYY-MM-DD)") from None
