"""A postal partner: a carrier that moves parcels between libraries under an agreement
with the province (a postage subsidy percentage, capped per library per month). Its
webhook secrets are not here: secret material never enters the event log (which is
published for ever); only the fact that a secret was added or retired does."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.errors import InvalidInput
from domain.text import one_line

PARTNER_CODE = re.compile(r"^[A-Z][A-Z0-9-]{1,30}$")


class PostalPartner(Aggregate):
    TYPE_NAME = "postal-partner"

    class Registered(Aggregate.Created):
        code: str
        name: str
        subsidy_percent: int
        monthly_cap_per_library: str

    def __init__(
        self, code: str, name: str, subsidy_percent: int, monthly_cap_per_library: str
    ) -> None:
        self.code = code
        self.name = name
        self.subsidy_percent = subsidy_percent
        self.monthly_cap_per_library = Decimal(monthly_cap_per_library)
        self.secret_ids: list[str] = []

    @staticmethod
    def id_for(code: str) -> UUID:
        return uuid5(NAMESPACE_URL, f"libshare:postal-partner:{code}")

    @classmethod
    def register(
        cls, code: str, name: str, subsidy_percent: int, monthly_cap_per_library: str
    ) -> PostalPartner:
        code = code.strip().upper()
        if not PARTNER_CODE.match(code):
            raise InvalidInput(f"partner code {code!r} must be upper-case letters and digits")
        if not name.strip():
            raise InvalidInput("a partner needs a name")
        name = one_line(name, "a partner's name", 200)
        if not 0 <= subsidy_percent <= 100:
            raise InvalidInput("subsidy_percent must be 0..100")
        try:
            cap = Decimal(monthly_cap_per_library)
        except InvalidOperation:
            raise InvalidInput(
                f"monthly_cap_per_library {monthly_cap_per_library!r} is not a number"
            ) from None
        if not cap.is_finite() or cap < 0:
            raise InvalidInput("monthly_cap_per_library must not be negative")
        return cls._create(
            cls.Registered,
            id=cls.id_for(code),
            code=code,
            name=name.strip(),
            subsidy_percent=subsidy_percent,
            monthly_cap_per_library=str(cap),
        )

    def add_secret(self, secret_id: str) -> None:
        """A new webhook secret is valid (the old ones stay valid until retired)."""
        if len(self.secret_ids) >= 2:
            raise InvalidInput("two secrets are valid already; retire one before adding another")
        self._secret_added(secret_id=secret_id)

    @event("SecretAdded")
    def _secret_added(self, secret_id: str) -> None:
        self.secret_ids = [*self.secret_ids, secret_id]

    def retire_secret(self, secret_id: str) -> None:
        if secret_id not in self.secret_ids:
            raise InvalidInput(f"no valid secret {secret_id}")
        if len(self.secret_ids) == 1:
            raise InvalidInput("the last valid secret cannot be retired; add its successor first")
        self._secret_retired(secret_id=secret_id)

    @event("SecretRetired")
    def _secret_retired(self, secret_id: str) -> None:
        self.secret_ids = [s for s in self.secret_ids if s != secret_id]
