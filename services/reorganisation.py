"""Reorganising the network (ADR 0021): rename, re-code, re-parent and merge libraries,
each one event on the library naming its legal act and effective day. A merge of A into B
(and a re-code, which is a merge into the same library under a new code) also moves what
is open under A's code: its open ILL requests (requester, supplier, rota), its staff
accounts, and whatever the movers add, all in the one transaction of the library's event.
A merge whose effective day is still to come is recorded now and moves nothing yet: the
same command, repeated on or after that day, moves what is open then (it is idempotent)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from typing import Any, Protocol
from uuid import UUID

from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError

from domain.access import Actor
from domain.errors import Conflict, NotFound
from domain.legal_act import LegalAct
from domain.library import CodeInUse, Library, valid_code
from domain.library_code import LibraryCode
from infra.network_app import NetworkApp
from infra.tracing import tracer
from services import aggregates

_tracer = tracer("libshare.commands")


class OpenRequestsOf(Protocol):
    """The ids of the requests not ended that name a library (requester, supplier, rota):
    the requests read model in the composition root."""

    def __call__(self, library: str) -> list[UUID]: ...


class StaffOf(Protocol):
    """The usernames of a library's accounts: the accounts read model."""

    def __call__(self, library: str) -> list[str]: ...


# What else moves from library `from_code` to `into_code` by `act` (a merge or a re-code):
# the aggregates it changed, to be saved in the merge's transaction. `actor` is who acts;
# the last argument says why, for the events.
Mover = Callable[[Actor, str, str, LegalAct, str], list[Aggregate]]


def library_summary(lib: Library, moved: dict[str, int] | None = None) -> dict[str, Any]:
    return {
        "code": lib.code,
        "id": str(lib.id),
        "name": lib.name,
        "codes": list(lib.codes),
        "parent": lib.parent,
        "province": lib.province,
        "merged_into": lib.merged_into,
        "merge_effective": lib.merge_act.effective.isoformat() if lib.merge_act else None,
        "moved": moved or {},
        "version": lib.version,
    }


class ReorganisationService:
    def __init__(
        self,
        store: NetworkApp,
        open_requests_of: OpenRequestsOf,
        staff_of: StaffOf,
        movers: Sequence[Mover],
    ) -> None:
        self.store = store
        self.open_requests_of = open_requests_of
        self.staff_of = staff_of
        # EXTENSION POINT (issue 13, parts 1-3: copies and transfers): the movers of what
        # else a library has open. "A's copies and open transfers move to B" is one Mover
        # more here (passed in by composition/bootstrap.py), called by `_move` below.
        self.movers = list(movers)

    def rename(
        self, actor: Actor, code: str, name: str, reason: str, act: LegalAct
    ) -> dict[str, Any]:
        """Renaming to the current name changes nothing (safe to retry)."""
        with _tracer.start_as_current_span("rename_library"):
            lib = aggregates.library(self.store, code)
            lib.rename(name, reason, act)
            self._record([lib], actor)
            return library_summary(lib)

    def reparent(
        self,
        actor: Actor,
        code: str,
        parent: str | None,
        province: str | None,
        act: LegalAct,
    ) -> dict[str, Any]:
        with _tracer.start_as_current_span("reparent_library"):
            lib = aggregates.library(self.store, code)
            above = aggregates.library(self.store, parent) if parent else None
            lib.reparent(above, province, act)
            self._record([lib], actor)
            return library_summary(lib)

    def recode(self, actor: Actor, code: str, new_code: str, act: LegalAct) -> dict[str, Any]:
        """Give a library a new code, held by a LibraryCode so that no other library can
        take it; what is open under the old code moves to the new one at once (a code is
        a label: the registry shows it from the act's effective day). A retry, or a code
        the library had before, changes nothing more."""
        with _tracer.start_as_current_span("recode_library"):
            lib = aggregates.library(self.store, code)
            new_code = valid_code(new_code)
            holder = aggregates.code_holder(self.store, new_code)
            held_by = (
                holder.id if isinstance(holder, Library) else getattr(holder, "library_id", None)
            )
            if held_by is not None and held_by != lib.id:
                raise CodeInUse(f"library code {new_code} is in use by another library")
            old_code = lib.code
            if not lib.recode(new_code, act):
                return library_summary(lib)
            slot = [LibraryCode.assign(new_code, lib)] if holder is None else []
            moved, counts = self._move(actor, old_code, new_code, act, f"re-coded {new_code}")
            try:
                self._record([lib, *slot, *moved], actor)
            except CodeInUse:
                raise CodeInUse(f"library code {new_code} was taken meanwhile") from None
            return library_summary(lib, counts)

    def complete_merge(self, actor: Actor, code: str, today: date) -> dict[str, Any]:
        """The timers, once a merge's effective day has come: move on what is still open
        under the merged library (nothing is recorded when nothing is)."""
        lib = aggregates.library(self.store, code)
        if lib.merged_into is None or lib.merge_act is None or not lib.merged_on(today):
            return library_summary(lib)
        reason = "the merge's effective day has come"
        return self.merge(actor, code, lib.merged_into, reason, lib.merge_act, today)

    def merge(
        self, actor: Actor, code: str, into: str, reason: str, act: LegalAct, today: date
    ) -> dict[str, Any]:
        """Merge library `code` into `into`: one MergedInto event on it; from the act's
        effective day it takes no new work, and (in the same transaction when that day
        has come, else when the command is repeated on or after it) its open requests,
        staff and what the movers move continue under `into`."""
        with _tracer.start_as_current_span("merge_library"):
            lib = aggregates.library(self.store, code)
            target = aggregates.library(self.store, into)
            act = act.checked()
            lib.merge_into(target, reason, act)
            moved: list[Aggregate] = []
            counts: dict[str, int] = {}
            if lib.merged_on(today):
                assert lib.merged_into is not None and lib.merge_act is not None
                why = f"merged into {target.code} ({lib.merge_act.act})"
                for old in dict.fromkeys(lib.codes):
                    more, n = self._move(actor, old, target.code, lib.merge_act, why)
                    moved += more
                    counts = {k: counts.get(k, 0) + n.get(k, 0) for k in {*counts, *n}}
            self._record([lib, *moved], actor)
            return library_summary(lib, counts)

    def _move(
        self, actor: Actor, old: str, new: str, act: LegalAct, why: str
    ) -> tuple[list[Aggregate], dict[str, int]]:
        """What is open under code `old` goes on under `new`: requests, staff accounts,
        and what each mover moves (the extension point above)."""
        requests: list[Aggregate] = []
        for request_id in self.open_requests_of(old):
            req = aggregates.request(self.store, request_id)
            if req.replace_library(old, new, why):
                requests.append(req)
        accounts: list[Aggregate] = []
        for username in self.staff_of(old):
            try:
                acc = aggregates.account(self.store, username)
            except NotFound:
                continue
            if acc.move_to(new, why):
                accounts.append(acc)
        others = [a for mover in self.movers for a in mover(actor, old, new, act, why)]
        counts = {"requests": len(requests), "accounts": len(accounts), "others": len(others)}
        return [*requests, *accounts, *others], counts

    def _record(self, changed: list[Aggregate], actor: Actor) -> None:
        try:
            self.store.record(*changed, actor=actor)
        except IntegrityError:
            if any(isinstance(a, LibraryCode) for a in changed):
                raise CodeInUse("the library code was taken meanwhile") from None
            raise Conflict(
                "a request or account changed while the library was reorganised; nothing "
                "was recorded: repeat the command (it is safe to repeat)"
            ) from None
