"""The legal act behind a change to the network (a resolution, a decision): its title with
its number, the day it was made, and the day the change takes effect. Every change to a
library's identity or place in the network names one (ADR 0021)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from domain.errors import InvalidInput
from domain.text import one_line

# A Vietnamese act's number: "202/2025/QH15", "1234/QĐ-UBND", "19/2025/NĐ-CP".
_NUMBER = re.compile(r"(?<![\w/])(\d{1,6})/(\w+)(?:[/-][\w-]+)*", re.UNICODE)
_YEAR = re.compile(r"/((?:19|20)\d{2})(?:/|$)")


class BadLegalAct(InvalidInput):
    """A change names no legal act we can cite: no number, a number of another year than
    the act's date, or an effective date before the act was made."""

    slug = "bad-legal-act"
    title = "The legal act is not valid"


@dataclass(frozen=True)
class LegalAct:
    """E.g. LegalAct("Nghị quyết 202/2025/QH15", date(2025, 6, 12), date(2025, 7, 1))."""

    act: str  # its kind and number, as cited: "Nghị quyết 202/2025/QH15"
    act_date: date  # the day it was made (signed, adopted)
    effective: date  # the day the change takes effect: past or future

    def checked(self) -> LegalAct:
        try:
            act = one_line(self.act, "a legal act", 200)
        except InvalidInput as exc:
            raise BadLegalAct(exc.detail) from None
        number = _NUMBER.search(act)
        if number is None:
            raise BadLegalAct(
                f"legal act {act!r} names no number: cite it as e.g. 'Nghị quyết 202/2025/QH15'"
            )
        year = _YEAR.search(number.group(0))
        if year and int(year.group(1)) != self.act_date.year:
            raise BadLegalAct(
                f"legal act {act!r} is numbered for {year.group(1)} "
                f"but dated {self.act_date.isoformat()}"
            )
        if self.effective < self.act_date:
            raise BadLegalAct(
                f"a change cannot take effect ({self.effective.isoformat()}) before its "
                f"act was made ({self.act_date.isoformat()})"
            )
        return LegalAct(act, self.act_date, self.effective)

    def fields(self) -> dict[str, object]:
        """The fields every reorganisation event carries."""
        return {"act": self.act, "act_date": self.act_date, "effective": self.effective}
