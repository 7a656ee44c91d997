"""The public contract of our events: which aggregates exist, what each event type is
called on the shared log, and its version. `libshare events doc` renders docs/events.md."""

from __future__ import annotations

import typing
from dataclasses import dataclass
from functools import cached_property

from eventsourcing.domain import Aggregate

from domain.account import Account
from domain.catalogue import Holding, Work
from domain.catalogue_record import CatalogueRecord, WorkKey
from domain.copy import Copy
from domain.digital_access import LoanAccess
from domain.digital_pool import DigitalPool
from domain.digital_shelf import DigitalShelf
from domain.history import HistoryCut
from domain.ill_request import IllRequest
from domain.iso_conversation import IsoConversation
from domain.iso_peer import IsoAgency, IsoPeer
from domain.library import Library
from domain.library_code import LibraryCode
from domain.postal_partner import PostalPartner
from domain.reader import Reader
from domain.rotation import Rotation
from domain.shipment import Shipment
from domain.transfer import Transfer

AGGREGATES: tuple[type[Aggregate], ...] = (
    Library,
    LibraryCode,
    Work,
    Holding,
    Copy,
    IllRequest,
    Transfer,
    Rotation,
    Shipment,
    PostalPartner,
    Account,
    Reader,
    DigitalPool,
    DigitalShelf,
    LoanAccess,
    IsoPeer,
    IsoAgency,
    IsoConversation,
    CatalogueRecord,
    WorkKey,
    HistoryCut,
)

# Fields every event has; they travel in the envelope (CloudEvents headers), not the payload.
ENVELOPE_FIELDS = frozenset(
    {"originator_id", "originator_version", "timestamp", "originator_topic", "originator_id_type"}
)
# (and Copy.Changed, the base of every copy event after the first: never triggered itself)
BASE_EVENT_NAMES = frozenset({"Event", "Created", "Changed"})


@dataclass(frozen=True)
class EventType:
    aggregate: type[Aggregate]
    event: type[Aggregate.Event]

    @cached_property
    def aggregate_name(self) -> str:
        return str(getattr(self.aggregate, "TYPE_NAME"))  # noqa: B009

    @cached_property
    def version(self) -> int:
        return int(getattr(self.event, "class_version", 1))

    @cached_property
    def name(self) -> str:
        """The CloudEvents `type`, e.g. libshare.library.Registered.v1."""
        return f"libshare.{self.aggregate_name}.{self.event.__name__}.v{self.version}"

    def fields(self) -> dict[str, str]:
        hints = typing.get_type_hints(self.event)
        return {
            name: str(getattr(hint, "__name__", hint)).replace("datetime.", "")
            for name, hint in hints.items()
            if name not in ENVELOPE_FIELDS and not name.startswith("_")
        }


def event_types() -> list[EventType]:
    found: list[EventType] = []
    for aggregate in AGGREGATES:
        for value in vars(aggregate).values():
            if (
                isinstance(value, type)
                and issubclass(value, Aggregate.Event)
                and value.__name__ not in BASE_EVENT_NAMES
            ):
                found.append(EventType(aggregate, value))
    return found


def event_type_of(event_class: type[object]) -> EventType:
    """The contract entry of a domain event class (nested in its aggregate)."""
    owner_name = event_class.__qualname__.split(".")[0]
    for aggregate in AGGREGATES:
        if aggregate.__name__ == owner_name and issubclass(event_class, Aggregate.Event):
            return EventType(aggregate, event_class)
    raise LookupError(f"{event_class.__qualname__} is not an event of a known aggregate")
