"""A reader and their library card, valid at every library of the network. The reader
registers online (pending card), a librarian verifies identity in person (we record that
it was verified and how, never an image of a document) and the card becomes active; a
minor's card needs a guardian's consent first. Cards expire and are renewed, and are
suspended (for example for unreturned items): a suspended card borrows nowhere.

Personal data (name, date of birth, contact, the guardian's name and contact) travels
only in the `personal` field of an event, which the event store seals with the reader's
own key (infra/personal_data.py); every other field is pseudonymous: the reader is known
elsewhere by `reader_ref` (e.g. RD-7K3M9Q2XWA), also the ILL requests' `reader_ref`.
Once the reader is erased, `personal` reads back as None and the aggregate shows a
placeholder; the age band and the home library stay for statistics."""

from __future__ import annotations

import re
from datetime import date, timedelta
from enum import StrEnum
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate

from domain.errors import DomainError, IllegalTransition, InvalidInput
from domain.text import one_line

# The field of a reader's events that holds personal data, sealed per reader.
PERSONAL = "personal"
PLACEHOLDER = "(đã xoá)"  # what an erased reader's name reads as
READER_REF = re.compile(r"^RD-[0-9A-Z]{10}$")
ADULT_AGE = 18  # under this, a guardian consents (Civil Code: a minor is under 18)
IDENTITY_METHODS = frozenset({"citizen_id_card", "vneid", "passport", "student_card", "guardian"})


class CardNotValid(DomainError):
    """The reader's card may not borrow (pending, suspended, expired, erased, unknown)."""

    slug = "card-not-valid"
    title = "The reader's card may not borrow"


class CardStatus(StrEnum):
    PENDING = "pending"  # registered online, identity not yet verified
    ACTIVE = "active"
    SUSPENDED = "suspended"
    ERASED = "erased"  # the reader's personal data is gone; the card is no more


class CardType(StrEnum):
    CHILD = "child"
    ADULT = "adult"
    SENIOR = "senior"


# Fee (VND) and validity (days) per card type.
CARD_TERMS: dict[CardType, tuple[int, int]] = {
    CardType.CHILD: (0, 365),
    CardType.ADULT: (50_000, 365),
    CardType.SENIOR: (0, 730),
}


def age_on(born: date, today: date) -> int:
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def age_band(age: int) -> str:
    """What statistics keep of a reader's age: a band, never the date."""
    for upper, band in ((6, "0-5"), (12, "6-11"), (16, "12-15"), (18, "16-17"), (60, "18-59")):
        if age < upper:
            return band
    return "60+"


def reader_ref_of(value: str) -> str:
    ref = value.strip().upper()
    if not READER_REF.match(ref):
        raise InvalidInput(f"reader {value!r} is not a card number such as RD-7K3M9Q2XWA")
    return ref


def is_card_ref(value: str) -> bool:
    return bool(READER_REF.match(value.strip().upper()))


def personal_data(
    name: str, born: date, contact: str, guardian: dict[str, str] | None
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": one_line(name, "name", 120),
        "date_of_birth": born.isoformat(),
        "contact": one_line(contact, "contact", 200),
    }
    if guardian is not None:
        data["guardian"] = {
            "name": one_line(guardian.get("name", ""), "the guardian's name", 120),
            "contact": one_line(guardian.get("contact", ""), "the guardian's contact", 200),
        }
    return data


class Reader(Aggregate):
    TYPE_NAME = "reader"

    class Registered(Aggregate.Created):
        """Registered online or at a desk: a pending card. `personal` is sealed with the
        reader's own key (`sealed:v1:<base64>` on the log); the rest is pseudonymous."""

        reader_ref: str
        home_library: str
        card_type: str
        age_band: str
        minor: bool
        guardian_consent: bool
        fee: int
        personal: Any  # sealed: name, date_of_birth, contact (and guardian)

    class Changed(Aggregate.Event):
        """The base of every later event (never triggered itself)."""

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, Reader)
            self.change(aggregate)

        def change(self, reader: Reader) -> None:
            """What the event changes on the reader."""

    class GuardianConsented(Changed):
        library: str
        personal: Any  # sealed: the guardian's name and contact

        def change(self, reader: Reader) -> None:
            reader.guardian_consent = True
            if reader.personal is not None and isinstance(self.personal, dict):
                reader.personal = {**reader.personal, **self.personal}

    class Activated(Changed):
        """Identity verified in person (`method`: which document was sighted; no image
        is kept) or at once by the library's policy, fee paid: the card is valid."""

        library: str
        method: str
        fee_paid: int
        expires: date

        def change(self, reader: Reader) -> None:
            reader.status, reader.expires = CardStatus.ACTIVE, self.expires
            reader.identity_verified = self.method

    class Renewed(Changed):
        library: str
        fee_paid: int
        expires: date

        def change(self, reader: Reader) -> None:
            reader.expires = self.expires

    class Suspended(Changed):
        library: str
        reason: str

        def change(self, reader: Reader) -> None:
            reader.status, reader.suspended_by = CardStatus.SUSPENDED, self.library

    class Reinstated(Changed):
        library: str

        def change(self, reader: Reader) -> None:
            reader.status, reader.suspended_by = CardStatus.ACTIVE, None

    class ErasureRequested(Changed):
        """The acknowledgement of a request to erase: who asked is in the actor."""

        def change(self, reader: Reader) -> None:
            reader.erasure_requested = True

    class ReaderErased(Changed):
        """The reader's key is destroyed: their sealed data can never be read again."""

        def change(self, reader: Reader) -> None:
            reader.status, reader.personal = CardStatus.ERASED, None

    @staticmethod
    def id_for(reader_ref: str) -> UUID:
        return uuid5(NAMESPACE_URL, f"libshare:reader:{reader_ref_of(reader_ref)}")

    @classmethod
    def register(
        cls,
        *,
        reader_ref: str,
        home_library: str,
        name: str,
        born: date,
        contact: str,
        guardian: dict[str, str] | None,
        today: date,
    ) -> Reader:
        ref = reader_ref_of(reader_ref)
        if born > today or age_on(born, today) > 130:
            raise InvalidInput("the date of birth must be a real one, not in the future")
        age = age_on(born, today)
        minor = age < ADULT_AGE
        card_type = CardType.CHILD if minor else CardType.SENIOR if age >= 60 else CardType.ADULT
        return cls._create(
            cls.Registered,
            id=cls.id_for(ref),
            reader_ref=ref,
            home_library=home_library,
            card_type=card_type.value,
            age_band=age_band(age),
            minor=minor,
            guardian_consent=minor and guardian is not None,
            fee=CARD_TERMS[card_type][0],
            personal=personal_data(name, born, contact, guardian),
        )

    def __init__(
        self,
        reader_ref: str,
        home_library: str,
        card_type: str,
        age_band: str,
        minor: bool,
        guardian_consent: bool,
        fee: int,
        personal: Any,
    ) -> None:
        self.reader_ref = reader_ref
        self.home_library = home_library
        self.card_type = CardType(card_type)
        self.age_band = age_band
        self.minor = minor
        self.guardian_consent = guardian_consent
        self.fee = fee
        self.personal: dict[str, Any] | None = personal if isinstance(personal, dict) else None
        self.status = CardStatus.PENDING
        self.expires: date | None = None
        self.identity_verified: str | None = None
        self.suspended_by: str | None = None
        self.erasure_requested = False

    def __repr__(self) -> str:
        """Never the personal data (a repr ends up in tracebacks and logs)."""
        return f"Reader({self.reader_ref}, {self.status.value}, version={self.version})"

    # -- what others ask ------------------------------------------------------------------
    @property
    def name(self) -> str:
        return str(self.personal["name"]) if self.personal else PLACEHOLDER

    def may_borrow(self, today: date) -> str | None:
        """None if the card may borrow today, else why not."""
        if self.status is not CardStatus.ACTIVE:
            return f"card {self.reader_ref} is {self.status.value}"
        if self.expires is not None and today > self.expires:
            return f"card {self.reader_ref} expired on {self.expires.isoformat()}"
        return None

    # -- commands -------------------------------------------------------------------------
    def consent(self, library: str, name: str, contact: str) -> None:
        self._require({CardStatus.PENDING, CardStatus.ACTIVE}, "guardian consent")
        if not self.minor:
            raise InvalidInput(f"reader {self.reader_ref} is an adult: no guardian consents")
        guardian = personal_data(name, date(2000, 1, 1), contact, None)
        personal = {"guardian": {"name": guardian["name"], "contact": guardian["contact"]}}
        self.trigger_event(self.GuardianConsented, library=library, personal=personal)

    def activate(self, library: str, method: str, fee_paid: int, today: date) -> None:
        self._require({CardStatus.PENDING}, "activate")
        if method not in IDENTITY_METHODS and method != "library_policy":
            raise InvalidInput(f"identity method must be one of {', '.join(IDENTITY_METHODS)}")
        if self.minor and not self.guardian_consent:
            raise InvalidInput(
                f"reader {self.reader_ref} is a minor: a guardian must consent first"
            )
        if method != "library_policy":  # activated online: the fee is owed at the desk
            self._check_fee(fee_paid)
        expires = today + timedelta(days=CARD_TERMS[self.card_type][1])
        self.trigger_event(
            self.Activated, library=library, method=method, fee_paid=fee_paid, expires=expires
        )

    def renew(self, library: str, fee_paid: int, today: date) -> None:
        self._require({CardStatus.ACTIVE, CardStatus.SUSPENDED}, "renew")
        self._check_fee(fee_paid)
        start = max(today, self.expires or today)
        expires = start + timedelta(days=CARD_TERMS[self.card_type][1])
        self.trigger_event(self.Renewed, library=library, fee_paid=fee_paid, expires=expires)

    def suspend(self, library: str, reason: str) -> None:
        self._require({CardStatus.ACTIVE, CardStatus.PENDING}, "suspend")
        self.trigger_event(
            self.Suspended, library=library, reason=one_line(reason, "a reason", 500)
        )

    def reinstate(self, library: str) -> None:
        self._require({CardStatus.SUSPENDED}, "reinstate")
        self.trigger_event(self.Reinstated, library=library)

    def request_erasure(self) -> None:
        if self.status is CardStatus.ERASED:
            return
        if not self.erasure_requested:
            self.trigger_event(self.ErasureRequested)

    def erased(self) -> None:
        if self.status is not CardStatus.ERASED:
            self.trigger_event(self.ReaderErased)

    def _check_fee(self, fee_paid: int) -> None:
        if fee_paid < self.fee:
            raise InvalidInput(f"the {self.card_type.value} card's fee is {self.fee} VND")

    def _require(self, allowed: set[CardStatus], command: str) -> None:
        if self.status not in allowed:
            raise IllegalTransition(
                command, self.status.value, [s.value for s in allowed], what="card"
            )


def _repr_without_personal(event: Aggregate.Event) -> str:
    """An event's repr without its personal data (a repr ends up in tracebacks, logs)."""
    return f"{type(event).__qualname__}(version={event.originator_version}, personal=...)"


# (eventsourcing gives each event class a dataclass repr: replaced after the fact.)
for _event in (Reader.Registered, Reader.GuardianConsented):
    _event.__repr__ = _repr_without_personal  # type: ignore[assignment,method-assign]
