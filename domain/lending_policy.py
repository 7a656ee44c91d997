"""A library's lending policy for interlibrary loans: due dates, renewals, limits, which
item kinds it lends, and how long it has to answer a request."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from domain.errors import InvalidInput

LENDABLE_BY_DEFAULT = ("book", "local_studies")


@dataclass(frozen=True)
class LendingPolicy:
    loan_days: int = 28
    renewals_allowed: int = 1
    renewal_days: int = 14
    max_active_loans: int = 20
    lends_kinds: tuple[str, ...] = LENDABLE_BY_DEFAULT
    answer_timeout_hours: int = 48

    def check(self) -> None:
        if not 1 <= self.loan_days <= 180:
            raise InvalidInput("loan_days must be 1..180")
        if not 0 <= self.renewals_allowed <= 10 or not 1 <= self.renewal_days <= 90:
            raise InvalidInput("renewals_allowed must be 0..10 and renewal_days 1..90")
        if not 0 <= self.max_active_loans <= 10_000:
            raise InvalidInput("max_active_loans must be 0..10000")
        if not 1 <= self.answer_timeout_hours <= 24 * 30:
            raise InvalidInput("answer_timeout_hours must be 1..720")
        known = {"book", "local_studies", "han_nom", "rare_map", "restricted"}
        if not set(self.lends_kinds) <= known:
            raise InvalidInput(f"lends_kinds must be among {sorted(known)}")

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["lends_kinds"] = sorted(self.lends_kinds)
        return d


DEFAULT_POLICY = LendingPolicy()
