"""Copies: registering them (one by one, or the copies a holding counts), and what a
library's desk does with one: lend it to a reader, check it in, withdraw it. A check-in
at a library that does not hold the copy is recorded as such (domain/copy.py)."""

from __future__ import annotations

from datetime import date
from typing import Any

from eventsourcing.persistence import IntegrityError

from domain.access import Actor
from domain.copy import Copy, barcode_of
from domain.errors import AlreadyExists, InvalidInput, NotFound
from infra.network_app import NetworkApp
from services import aggregates


def copy_summary(copy: Copy) -> dict[str, Any]:
    return {
        "barcode": copy.barcode,
        "version": copy.version,
        "work": copy.work,
        "owner": copy.owner,
        "holder": copy.holder,
        "status": copy.status.value,
        "location": copy.location,
        "loan": copy.loan,
        "transfers": copy.transfers,
    }


def numbered_barcode(library: str, work: str, number: int) -> str:
    """The barcode given to the n-th copy a holding counted, when holdings were counts:
    e.g. HNM-TVT-W-KIEU-1. A library's own barcodes are registered as they are."""
    return f"{library}-{work}-{number}"


class CopiesService:
    def __init__(self, store: NetworkApp) -> None:
        self.store = store

    def get(self, barcode: str) -> Copy:
        return aggregates.copy(self.store, barcode)

    def at_desk(self, library: str, barcode: str) -> Copy:
        """The copy a library's desk scanned: the library's own label first (an imported
        copy's barcode is `<library>-<its label>`, ADR 0025), else the barcode as it is."""
        code = barcode_of(barcode)
        if not code.startswith(f"{library}-"):
            try:
                return self.get(f"{library}-{code}")
            except (NotFound, InvalidInput):  # not one of ours (or too long with the prefix)
                pass
        return self.get(code)

    def register(self, actor: Actor, barcode: str, work: str, library: str) -> tuple[Copy, bool]:
        """Register a copy owned by `library`; a repeat with the same data returns it."""
        the_work = aggregates.work(self.store, work)
        owner = aggregates.library(self.store, library).code
        copy = Copy.register(barcode, the_work.code, owner)
        try:
            self.store.record(copy, actor=actor)
            return copy, True
        except IntegrityError:
            existing = self.get(copy.barcode)
            if (existing.work, existing.owner) != (copy.work, copy.owner):
                raise AlreadyExists(
                    f"copy {copy.barcode} is registered as {existing.work} of {existing.owner}"
                ) from None
            return existing, False

    def register_counted(self, actor: Actor, work: str, library: str, count: int) -> int:
        """Make sure the first `count` numbered copies of a holding exist (the migration
        from holdings that were counts: each copy is a Registered event). Returns how
        many were new; repeating it changes nothing."""
        new = 0
        for n in range(1, count + 1):
            _, created = self.register(actor, numbered_barcode(library, work, n), work, library)
            new += int(created)
        return new

    def registered_of(self, work: str, library: str, count: int) -> int:
        """How many of a holding's first `count` numbered copies are registered."""
        found = 0
        for n in range(1, count + 1):
            try:
                self.get(numbered_barcode(library, work, n))
            except NotFound:
                continue
            found += 1
        return found

    def check_out(
        self, actor: Actor, library: str, barcode: str, reader_ref: str, today: date
    ) -> Copy:
        aggregates.check_card(self.store, reader_ref, today)  # a card valid network-wide
        copy = self.at_desk(library, barcode)
        copy.check_out(library, reader_ref)
        self.store.record(copy, actor=actor)
        return copy

    def check_in(self, actor: Actor, library: str, barcode: str) -> Copy:
        copy = self.at_desk(library, barcode)
        copy.check_in(library)
        self.store.record(copy, actor=actor)
        return copy

    def withdraw(self, actor: Actor, library: str, barcode: str, reason: str) -> Copy:
        copy = self.at_desk(library, barcode)
        copy.withdraw(library, reason)
        self.store.record(copy, actor=actor)
        return copy

    def for_ill(self, barcode: str) -> Copy:
        """The copy an ILL Loaned names: it must be registered."""
        try:
            copy = self.get(barcode_of(barcode))
        except (NotFound, InvalidInput):
            raise InvalidInput(
                f"item {barcode!r} is not a registered copy: Loaned names the barcode of a "
                "copy your library holds"
            ) from None
        return copy
