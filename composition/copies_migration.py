"""From holdings that were counts to copies registered one by one (ADR 0020): each
holding of an event store written before copies existed gets its numbered copies, through
the one entry's RegisterHolding command, so that every copy is a Registered event. Run
by `libshare stock migrate-copies`; repeating it changes nothing."""

from __future__ import annotations

from typing import TYPE_CHECKING
from uuid import UUID

from eventsourcing.utils import get_topic

from domain.access import MIGRATIONS
from domain.catalogue import Holding
from services.commands import RegisterHolding

if TYPE_CHECKING:
    from composition.bootstrap import System

PAGE = 1000


def holdings_in_store(system: System) -> list[UUID]:
    """Every holding ever registered, from the event store (not a read model)."""
    topics = [get_topic(Holding.Registered)]
    found: list[UUID] = []
    start: int | None = None
    while True:
        page = system.app.recorder.select_notifications(
            start, PAGE, topics=topics, inclusive_of_start=start is None
        )
        found += [n.originator_id for n in page]  # type: ignore[misc]
        if len(page) < PAGE:
            return found
        start = page[-1].id


def migrate_counted_holdings(system: System) -> int:
    """Register the copies every holding counts; returns how many copies were new."""
    new = 0
    for holding_id in holdings_in_store(system):
        holding: Holding = system.app.repository.get(holding_id)
        before = system.copies.registered_of(holding.work, holding.library, holding.copies)
        system.entry.act(
            MIGRATIONS,
            RegisterHolding(
                holding.work, holding.library, holding.copies, holding.digital_lendable
            ),
        )
        new += holding.copies - before
    return new
