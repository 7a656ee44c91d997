"""The rights under which a digitised work may be lent digitally (ADR 0022). Lending an
in-copyright scan without a licence is not fair use, so nothing is assumed: a work is
lent digitally only under rights recorded for it, and only while they hold."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date
from enum import StrEnum
from typing import Any

from domain.errors import InvalidInput
from domain.text import note_text

MAX_CONCURRENT = 1000


class Basis(StrEnum):
    PUBLIC_DOMAIN = "public_domain"
    LICENSED = "licensed"  # terms, concurrent loans allowed, expiry
    FAMILY_DEPOSIT = "family_deposit"  # a family or clan deposited it: owner, consent, scope
    NOT_LENDABLE = "not_lendable"


class Scope(StrEnum):
    """Whose readers a family deposit may be lent to."""

    NETWORK = "network"
    HOLDING_LIBRARY = "holding_library"  # only the readers of the library that holds it


@dataclass(frozen=True)
class Rights:
    basis: Basis
    terms: str = ""
    concurrent_loans: int | None = None  # licensed: what the licence allows at once
    expires_on: date | None = None  # licensed: the licence's last day
    owner: str = ""  # family deposit: the family or clan
    consent: bool = False  # family deposit: the owner consented to digital lending
    scope: Scope = Scope.NETWORK

    @classmethod
    def of(cls, basis: str, **fields: Any) -> Rights:
        if basis not in {b.value for b in Basis}:
            raise InvalidInput(f"rights basis {basis!r} is not one of {[b.value for b in Basis]}")
        scope = str(fields.pop("scope", None) or Scope.NETWORK.value)
        if scope not in {s.value for s in Scope}:
            raise InvalidInput(f"scope {scope!r} is not one of {[s.value for s in Scope]}")
        rights = cls(
            Basis(basis),
            terms=note_text(str(fields.get("terms") or "")),
            concurrent_loans=fields.get("concurrent_loans"),
            expires_on=fields.get("expires_on"),
            owner=str(fields.get("owner") or "").strip(),
            consent=bool(fields.get("consent")),
            scope=Scope(scope),
        )
        rights._check()
        return rights

    def _check(self) -> None:
        if self.basis is Basis.LICENSED:
            n = self.concurrent_loans
            if n is None or not 1 <= n <= MAX_CONCURRENT:
                raise InvalidInput(f"a licence names its concurrent loans (1..{MAX_CONCURRENT})")
            if self.expires_on is None or not self.terms:
                raise InvalidInput("a licence names its terms and its expiry date")
        elif self.concurrent_loans is not None or self.expires_on is not None:
            raise InvalidInput("only a licence has concurrent loans and an expiry date")
        if self.basis is Basis.FAMILY_DEPOSIT:
            if not self.owner:
                raise InvalidInput("a family deposit names its owner (the family or clan)")
        elif self.owner or self.consent:
            raise InvalidInput("only a family deposit has an owner and a consent")
        if self.scope is not Scope.NETWORK and self.basis is not Basis.FAMILY_DEPOSIT:
            raise InvalidInput("only a family deposit has a narrower scope than the network")

    def ceiling(self, today: date) -> int | None:
        """How many loans at once the rights allow today: None (no limit of their own),
        or a number (0: not lendable now)."""
        if self.basis is Basis.NOT_LENDABLE:
            return 0
        if self.basis is Basis.LICENSED:
            assert self.expires_on is not None
            return 0 if today > self.expires_on else self.concurrent_loans
        if self.basis is Basis.FAMILY_DEPOSIT and not self.consent:
            return 0
        return None

    def lends_to(self, holder: str, library: str) -> bool:
        """Whether a reader of `library` may borrow a work held by `holder`."""
        return self.scope is Scope.NETWORK or holder == library

    def as_event(self) -> dict[str, Any]:
        found = asdict(self)
        found["basis"], found["scope"] = self.basis.value, self.scope.value
        return found


NONE_RECORDED = Rights(Basis.NOT_LENDABLE, terms="no rights recorded")
