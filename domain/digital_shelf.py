"""A reader's digital shelf (ADR 0022): which works they have on digital loan or wait for,
across the network, so the caps per reader hold whichever library lends. It knows the
reader only by their opaque reference, as requests do."""

from __future__ import annotations

from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.digital_errors import ReaderLimit
from domain.digital_terms import MAX_HOLDS_PER_READER, MAX_LOANS_PER_READER

LOAN, HOLD = "loan", "hold"
CAPS = {LOAN: MAX_LOANS_PER_READER, HOLD: MAX_HOLDS_PER_READER}


class DigitalShelf(Aggregate):
    TYPE_NAME = "digital_shelf"

    class Opened(Aggregate.Created):
        reader_ref: str

    def __init__(self, reader_ref: str) -> None:
        self.reader_ref = reader_ref
        self.loans: list[str] = []  # works
        self.holds: list[str] = []

    @staticmethod
    def id_for(reader_ref: str) -> UUID:
        return uuid5(NAMESPACE_URL, f"libshare:digital-shelf:{reader_ref}")

    @classmethod
    def open(cls, reader_ref: str) -> DigitalShelf:
        return cls._create(cls.Opened, id=cls.id_for(reader_ref), reader_ref=reader_ref)

    def _list(self, what: str) -> list[str]:
        return self.loans if what == LOAN else self.holds

    def take(self, work: str, what: str) -> None:
        """A loan or a hold of `work` starts; refused past the cap."""
        if work in self._list(what):
            return
        if len(self._list(what)) >= CAPS[what]:
            raise ReaderLimit(
                f"reader {self.reader_ref} has {CAPS[what]} digital {what}s already "
                f"({', '.join(self._list(what))})"
            )
        self._took(work=work, what=what)

    @event("Took")
    def _took(self, work: str, what: str) -> None:
        self._list(what).append(work)

    def release(self, work: str, what: str) -> None:
        if work in self._list(what):
            self._released(work=work, what=what)

    @event("Released")
    def _released(self, work: str, what: str) -> None:
        self._list(what).remove(work)
