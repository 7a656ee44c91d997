"""When a library is merged into another or re-coded (services/reorganisation.py, ADR
0021), a parcel still on its way from or to it goes on from or to the new code: its
shipment records `LibraryReplaced` in the transaction of the library's own event, so the
parcels in transit to the library merged into show in its queue. Postage already
counted stays with the library that sent it then."""

from __future__ import annotations

from typing import Any, Protocol
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.access import Actor
from domain.legal_act import LegalAct
from domain.shipment import Shipment
from infra.network_app import NetworkApp


class InTransitNaming(Protocol):
    """The ids of the shipments in transit from or to a library (the shipments read
    model, in the composition root)."""

    def __call__(self, library: str) -> list[UUID]: ...


class ShipmentMover:
    def __init__(self, store: NetworkApp, naming: InTransitNaming) -> None:
        self.store = store
        self.naming = naming

    def __call__(
        self, actor: Actor, old: str, new: str, act: LegalAct, why: str
    ) -> list[Aggregate]:
        changed: list[Aggregate] = []
        for shipment_id in self.naming(old):
            shipment: Any = self.store.repository.get(shipment_id)
            assert isinstance(shipment, Shipment)
            if shipment.replace_library(old, new, why):
                changed.append(shipment)
        return changed
