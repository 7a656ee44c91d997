"""A library of the network: who it is, what kind, where. Registered once by its code."""

from __future__ import annotations

import re
from enum import StrEnum
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.errors import InvalidInput
from domain.lending_policy import DEFAULT_POLICY, LendingPolicy
from domain.text import one_line

CODE_PATTERN = re.compile(r"^[A-Z][A-Z0-9]*(-[A-Z0-9]+)*$")


class LibraryKind(StrEnum):
    PROVINCIAL = "provincial"
    DISTRICT = "district"
    SCHOOL = "school"
    ARMED_FORCES = "armed_forces"


_KINDS = frozenset(k.value for k in LibraryKind)


class Library(Aggregate):
    """A member library. Its id is derived from its code, so registering is idempotent."""

    TYPE_NAME = "library"

    class Registered(Aggregate.Created):
        code: str
        name: str
        kind: str
        locality: str

    class Renamed(Aggregate.Event):
        """The library's name changed (libraries are merged and renamed, e.g. in 2025)."""

        name: str
        reason: str

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, Library)
            aggregate.name = self.name

    def __init__(self, code: str, name: str, kind: str, locality: str) -> None:
        self.code = code
        self.name = name
        self.kind = LibraryKind(kind)
        self.locality = locality

    @staticmethod
    def id_for(code: str) -> UUID:
        return uuid5(NAMESPACE_URL, f"libshare:library:{code}")

    @classmethod
    def register(cls, code: str, name: str, kind: str, locality: str) -> Library:
        code = code.strip().upper()
        if not CODE_PATTERN.match(code) or len(code) > 32:
            raise InvalidInput(
                f"library code {code!r} must be upper-case letters and digits in "
                "dash-separated parts, at most 32 characters (e.g. HNM-TVT)"
            )
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

    def rename(self, name: str, reason: str) -> None:
        name = _valid_name(name)
        reason = reason.strip()
        if not reason or len(reason) > 500:
            raise InvalidInput("a renaming needs a reason of 1 to 500 characters")
        reason = one_line(reason, "a renaming's reason", 500)
        if name == self.name:
            return  # already so named: nothing happens, so a retry is harmless
        self.trigger_event(self.Renamed, name=name, reason=reason)

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
