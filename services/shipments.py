"""Postal shipments: the shipment that carries a loan or its return (dispatched with the
request's Loaned or ShippedReturn), and carrier updates from the partners' webhook
(api/partners.py), with our policy on a delivered parcel."""

from __future__ import annotations

import random
import time
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError

from domain.access import Actor
from domain.errors import DomainError, InvalidInput, NotFound
from domain.ill_request import IllRequest
from domain.shipment import Shipment
from infra.causation import caused_by
from infra.network_app import NetworkApp
from services import aggregates
from services.transfers import TransfersService

# How often one carrier event is recorded again after losing a race to another update of
# the same shipment, before the partner is told to send it again.
CARRIER_EVENT_ATTEMPTS = 8


class Waybills(Protocol):
    """Where a carrier update finds its shipment: the event store (StoredWaybills), or a
    test's stand-in that hands out a stale copy to lose a race on purpose."""

    def shipment(self, partner: str, waybill: str) -> Shipment: ...


class StoredWaybills:
    def __init__(self, store: NetworkApp) -> None:
        self.store = store

    def shipment(self, partner: str, waybill: str) -> Shipment:
        try:
            found: Shipment = self.store.repository.get(Shipment.id_for(partner, waybill))
        except AggregateNotFoundError:
            raise NotFound(f"unknown waybill {waybill!r}") from None
        return found


def new_shipment(
    store: NetworkApp, req: IllRequest, library: str, purpose: str, p: dict[str, Any]
) -> Shipment:
    """The shipment that carries a loan (supplier -> requester) or its return."""
    partner = aggregates.partner(store, str(p.get("partner", "")))
    recipient = req.requester if purpose == "loan" else req.supplier
    return Shipment.create(
        purpose=purpose,
        request_id=req.id,
        sender=library,
        recipient=str(recipient),
        partner=partner.code,
        waybill=str(p.get("waybill", "")),
        parcels=list(p.get("parcels") or []),
        declared_postage=str(p.get("declared_postage", "0")),
    )


class ShipmentsService:
    def __init__(self, store: NetworkApp, waybills: Waybills, transfers: TransfersService) -> None:
        self.store = store
        self.waybills = waybills
        self.transfers = transfers

    def record_carrier_events(
        self, actor: Actor, partner_code: str, items: list[dict[str, Any]]
    ) -> list[dict[str, str]]:
        """Record a batch of carrier updates; one result per item (accepted, duplicate, or
        rejected with a reason). One bad item never sinks the rest."""
        results: list[dict[str, str]] = []
        for item in items:
            event_id = str(item.get("carrier_event_id", ""))
            message = f"carrier:{partner_code}:{event_id}"  # each update is a message of its own
            try:
                with caused_by(message, correlation_id=message):
                    result = self._record_carrier_event(actor, partner_code, item)
            except DomainError as exc:
                result = {"result": "rejected", "reason": exc.detail}
            results.append({"carrier_event_id": event_id, **result})
        return results

    def _record_carrier_event(
        self, actor: Actor, partner_code: str, item: dict[str, Any]
    ) -> dict[str, str]:
        """One carrier update. Another update of the same shipment may be saved between our
        load and our save (the partner sends in parallel, or two batches overlap): then the
        save fails on the aggregate's version, and we reload and record again. Only a
        carrier event id that is recorded already is a duplicate."""
        for attempt in range(CARRIER_EVENT_ATTEMPTS):
            if attempt:  # the other writer is likely mid-save: step aside a little
                time.sleep(random.uniform(0, 0.01 * attempt))
            shipment = self.waybills.shipment(partner_code, str(item.get("waybill", "")))
            new = shipment.record_carrier_event(
                carrier_event_id=str(item.get("carrier_event_id", "")),
                status=str(item.get("status", "")),
                at=_time(item.get("at")),
                facility=str(item.get("facility", "")),
                signer=str(item.get("signer", "")),
                reason=str(item.get("reason", "")),
            )
            if not new:
                return {"result": "duplicate"}
            try:
                self.store.record(shipment, *self._delivery_policy(shipment), actor=actor)
            except IntegrityError:  # saved by someone else since we loaded it: reload
                continue
            return {"result": "accepted"}
        return {
            "result": "rejected",
            "reason": "the shipment kept changing while this event was recorded; send it again",
        }

    def _delivery_policy(self, shipment: Shipment) -> list[Aggregate]:
        """Once the carrier says a parcel was delivered, its request records the arrival,
        in the same transaction: the partner's update never changes a request by itself,
        this policy of ours does, and only so far (the librarian confirms receipt)."""
        if shipment.purpose == "transfer":
            return self.transfers.parcel_delivered(shipment)
        delivered = shipment.delivered
        if delivered is None:
            return []
        arrived: list[Aggregate] = []
        for request_id in shipment.requests:  # each request the parcels carry an item of
            req = aggregates.request(self.store, UUID(request_id))
            if req.parcel_delivered(
                str(shipment.id), shipment.purpose, delivered["at"], delivered["signer"]
            ):
                arrived.append(req)
        return arrived


def _time(value: Any) -> datetime:
    try:
        at = datetime.fromisoformat(str(value))
    except ValueError:
        raise InvalidInput(f"'at' must be an ISO 8601 time with a zone, not {value!r}") from None
    if at.tzinfo is None:
        raise InvalidInput("'at' needs a time zone")
    return at
