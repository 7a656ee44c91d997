"""A library of the network: who it is, what kind, where. Registered once by its code.
Reorganisations (ADR 0021) are events on it that name their legal act and the day they
take effect: renamed, re-coded, re-parented, merged into another library. `as_of(day)`
answers what it was on any day, by effective date."""

from __future__ import annotations

import re
from datetime import date
from enum import StrEnum
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.errors import DomainError, InvalidInput
from domain.legal_act import LegalAct
from domain.lending_policy import DEFAULT_POLICY, LendingPolicy
from domain.text import one_line

CODE_PATTERN = re.compile(r"^[A-Z][A-Z0-9]*(-[A-Z0-9]+)*$")


class LibraryKind(StrEnum):
    PROVINCIAL = "provincial"
    DISTRICT = "district"
    SCHOOL = "school"
    ARMED_FORCES = "armed_forces"


_KINDS = frozenset(k.value for k in LibraryKind)


class MergeIntoItself(InvalidInput):
    slug = "merge-into-itself"
    title = "A library cannot be merged into itself"


class LibraryMerged(DomainError):
    """The library was merged into another: it takes no new work and no more changes."""

    slug = "library-merged"
    title = "The library was merged into another"


class CodeInUse(DomainError):
    slug = "code-in-use"
    title = "The library code is in use"


ACTIVE, MERGED = "active", "merged"


class Library(Aggregate):
    """A member library. Its id is derived from the code it was registered with, so
    registering is idempotent; a re-coded library keeps its id (the new code resolves
    to it through a LibraryCode, domain/library_code.py)."""

    TYPE_NAME = "library"

    class Registered(Aggregate.Created):
        code: str
        name: str
        kind: str
        locality: str

    class Renamed(Aggregate.Event):
        """The library's name changed, by a legal act, from its effective date. Version 1
        had no act (recorded before ADR 0021): it loads with none, in effect when recorded."""

        class_version = 2

        name: str
        reason: str
        act: str
        act_date: date | None
        effective: date | None

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state.update(act="", act_date=None, effective=None)

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, Library)
            aggregate.name = self.name
            aggregate._changed(self, name=self.name)

    class Recoded(Aggregate.Event):
        """The library's code changed; events before keep the code they were recorded with."""

        old_code: str
        code: str
        act: str
        act_date: date
        effective: date

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, Library)
            aggregate.code = self.code
            aggregate.codes = [*aggregate.codes, self.code]
            aggregate._changed(self, code=self.code)

    class Reparented(Aggregate.Event):
        """The library's place in the network: the library above it (none: at the top) and
        the administrative province it belongs to."""

        parent: str | None
        province: str | None
        act: str
        act_date: date
        effective: date

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, Library)
            aggregate.parent, aggregate.province = self.parent, self.province
            aggregate._changed(self, parent=self.parent, province=self.province)

    class MergedInto(Aggregate.Event):
        """From `effective`, the library is part of `into`: it takes no new work, and its
        open requests and staff continue under `into` (services/reorganisation.py)."""

        into: str
        reason: str
        act: str
        act_date: date
        effective: date

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, Library)
            aggregate.merged_into = self.into
            aggregate.merge_act = LegalAct(self.act, self.act_date, self.effective)
            aggregate._changed(self, status=MERGED, merged_into=self.into)

    def __init__(self, code: str, name: str, kind: str, locality: str) -> None:
        self.code = code
        self.codes = [code]  # every code it has had, the registered one first
        self.name = name
        self.registered_name = name
        self.kind = LibraryKind(kind)
        self.locality = locality
        self.parent: str | None = None
        self.province: str | None = None
        self.merged_into: str | None = None
        self.merge_act: LegalAct | None = None
        # (effective day, version, what changed), in the order recorded (ADR 0021)
        self.changes: list[tuple[date, int, dict[str, Any]]] = []

    def _changed(self, e: Aggregate.Event, **what: Any) -> None:
        effective = getattr(e, "effective", None) or e.timestamp.date()
        self.changes = [*self.changes, (effective, e.originator_version, what)]

    @staticmethod
    def id_for(code: str) -> UUID:
        return uuid5(NAMESPACE_URL, f"libshare:library:{code}")

    @classmethod
    def register(cls, code: str, name: str, kind: str, locality: str) -> Library:
        code = valid_code(code)
        name = _valid_name(name)
        if kind not in _KINDS:
            allowed = ", ".join(k.value for k in LibraryKind)
            raise InvalidInput(f"library kind {kind!r} is not one of: {allowed}")
        locality = one_line(locality, "library locality", 100)
        return cls._create(
            cls.Registered,
            id=cls.id_for(code),
            code=code,
            name=name,
            kind=kind,
            locality=locality,
        )

    # -- reorganisation (ADR 0021) ------------------------------------------------------
    def rename(self, name: str, reason: str, act: LegalAct) -> None:
        name = _valid_name(name)
        reason = _reason(reason, "a renaming")
        act = act.checked()
        if name == self.name:
            return  # already so named: nothing happens, so a retry is harmless
        self._not_merged("renamed")
        self.trigger_event(self.Renamed, name=name, reason=reason, **act.fields())

    def recode(self, code: str, act: LegalAct) -> bool:
        """Give the library a new code; False if it has it already (a retry). Whether the
        code is free is for the caller to make sure (a LibraryCode holds it)."""
        code = valid_code(code)
        act = act.checked()
        if code == self.code:
            return False
        self._not_merged("re-coded")
        self.trigger_event(self.Recoded, old_code=self.code, code=code, **act.fields())
        return True

    def reparent(self, parent: Library | None, province: str | None, act: LegalAct) -> None:
        province = one_line(province, "a province", 100) if province else None
        act = act.checked()
        parent_code = parent.code if parent else None
        if (parent_code, province) == (self.parent, self.province):
            return
        self._not_merged("re-parented")
        if parent is not None:
            if parent.id == self.id:
                raise InvalidInput(f"library {self.code} cannot be its own parent")
            parent._not_merged("a parent")
        self.trigger_event(self.Reparented, parent=parent_code, province=province, **act.fields())

    def merge_into(self, into: Library, reason: str, act: LegalAct) -> bool:
        """Record that this library becomes part of `into` from the act's effective day;
        False if it already is so merged by the same act (a retry)."""
        if into.id == self.id:
            raise MergeIntoItself(f"library {self.code} cannot be merged into itself")
        reason = _reason(reason, "a merge")
        act = act.checked()
        if self.merged_into is not None:
            if self.merged_into in into.codes and self.merge_act == act:
                return False
            raise LibraryMerged(
                f"library {self.code} was already merged into {self.merged_into} "
                f"({self.merge_act.act if self.merge_act else ''})"
            )
        into._not_merged("merged into")
        self.trigger_event(self.MergedInto, into=into.code, reason=reason, **act.fields())
        return True

    def merged_on(self, day: date) -> bool:
        """Whether, on `day`, the library is part of another (it takes no new work)."""
        return self.merge_act is not None and self.merge_act.effective <= day

    def refuse_work(self, day: date, role: str) -> None:
        """Refuse new work for a library merged by `day`, saying where it went."""
        if self.merged_on(day):
            assert self.merge_act is not None
            raise LibraryMerged(
                f"library {self.code} was merged into {self.merged_into} on "
                f"{self.merge_act.effective.isoformat()} ({self.merge_act.act}): "
                f"it takes no new work as {role}; go to {self.merged_into}"
            )

    def _not_merged(self, what: str) -> None:
        if self.merged_into is not None:
            raise LibraryMerged(
                f"library {self.code} was merged into {self.merged_into}: it cannot be {what}"
            )

    def as_of(self, day: date) -> dict[str, Any]:
        """The library as it was on `day`, by effective date (registration data before any
        change: the platform knows no earlier history). Changes of one day apply in the
        order recorded."""
        state: dict[str, Any] = {
            "code": self.codes[0],
            "name": self.registered_name,
            "kind": self.kind.value,
            "locality": self.locality,
            "parent": None,
            "province": None,
            "status": ACTIVE,
            "merged_into": None,
        }
        for effective, _, what in sorted(self.changes, key=lambda c: (c[0], c[1])):
            if effective <= day:
                state.update(what)
        return state

    @property
    def policy(self) -> LendingPolicy:
        return getattr(self, "_policy", DEFAULT_POLICY)

    def set_policy(self, policy: LendingPolicy) -> None:
        policy.check()
        if policy != self.policy:
            self._policy_set(**policy.as_dict())

    @event("PolicySet")
    def _policy_set(
        self,
        loan_days: int,
        renewals_allowed: int,
        renewal_days: int,
        max_active_loans: int,
        lends_kinds: list[str],
        answer_timeout_hours: int,
    ) -> None:
        self._policy = LendingPolicy(
            loan_days,
            renewals_allowed,
            renewal_days,
            max_active_loans,
            tuple(lends_kinds),
            answer_timeout_hours,
        )

    def same_registration(self, name: str, kind: str, locality: str) -> bool:
        """Whether a repeated registration carries the data this library was registered with."""
        return (self.name, self.kind.value, self.locality) == (
            name.strip(),
            kind,
            locality.strip(),
        )


def _valid_name(name: str) -> str:
    return one_line(name, "library name", 200)


def _reason(reason: str, what: str) -> str:
    reason = reason.strip()
    if not reason or len(reason) > 500:
        raise InvalidInput(f"{what} needs a reason of 1 to 500 characters")
    return one_line(reason, f"{what}'s reason", 500)


def valid_code(code: str) -> str:
    code = code.strip().upper()
    if not CODE_PATTERN.match(code) or len(code) > 32:
        raise InvalidInput(
            f"library code {code!r} must be upper-case letters and digits in "
            "dash-separated parts, at most 32 characters (e.g. HNM-TVT)"
        )
    return code
