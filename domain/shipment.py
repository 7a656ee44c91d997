"""A postal shipment between two libraries, carried by a postal partner: its parcels, its
declared postage, and the carrier's status history. Carriers retry, send events twice and
out of order: each carrier event is recorded once (by its id) and the shipment's status
follows the carrier's timeline (the event times), not the order of arrival."""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.errors import IllegalTransition, InvalidInput


class CarrierStatus(StrEnum):
    LABEL_CREATED = "label_created"
    ACCEPTED = "accepted"
    IN_TRANSIT = "in_transit"
    OUT_FOR_DELIVERY = "out_for_delivery"
    DELIVERED = "delivered"
    DELIVERY_FAILED = "delivery_failed"
    RETURNED_TO_SENDER = "returned_to_sender"
    LOST = "lost"


# Where a status sits in a parcel's journey; breaks ties between events with equal times.
STAGE = {
    CarrierStatus.LABEL_CREATED: 0,
    CarrierStatus.ACCEPTED: 1,
    CarrierStatus.IN_TRANSIT: 2,
    CarrierStatus.OUT_FOR_DELIVERY: 3,
    CarrierStatus.DELIVERY_FAILED: 4,
    CarrierStatus.DELIVERED: 5,
    CarrierStatus.RETURNED_TO_SENDER: 5,
    CarrierStatus.LOST: 5,
}
FINAL = frozenset({CarrierStatus.DELIVERED, CarrierStatus.RETURNED_TO_SENDER, CarrierStatus.LOST})
WAYBILL = re.compile(r"^[A-Z0-9-]{6,40}$")


class Shipment(Aggregate):
    TYPE_NAME = "shipment"

    class Dispatched(Aggregate.Created):
        """A library handed the parcels to a postal partner."""

        # "loan" (supplier -> requester), "return" (requester -> supplier), or "transfer"
        # (stock sent on a transfer: request_id is then the transfer's id)
        purpose: str
        request_id: str
        sender: str
        recipient: str
        partner: str
        waybill: str
        parcels: list[dict[str, Any]]
        declared_postage: str

    def __init__(
        self,
        purpose: str,
        request_id: str,
        sender: str,
        recipient: str,
        partner: str,
        waybill: str,
        parcels: list[dict[str, Any]],
        declared_postage: str,
    ) -> None:
        self.purpose = purpose
        self.request_id = request_id
        self.sender = sender
        self.recipient = recipient
        self.partner = partner
        self.waybill = waybill
        self.parcels = parcels
        self.declared_postage = Decimal(declared_postage)
        self.carrier_events: dict[str, dict[str, Any]] = {}
        self.more_requests: list[str] = []  # requests whose items share the parcels

    @staticmethod
    def id_for(partner: str, waybill: str) -> UUID:
        """One shipment per (partner, waybill): a carrier finds only its own parcels."""
        return uuid5(NAMESPACE_URL, f"libshare:shipment:{partner}:{waybill.strip().upper()}")

    @classmethod
    def create(
        cls,
        *,
        purpose: str,
        request_id: UUID,
        sender: str,
        recipient: str,
        partner: str,
        waybill: str,
        parcels: list[dict[str, Any]],
        declared_postage: str,
    ) -> Shipment:
        if purpose not in ("loan", "return", "transfer"):
            raise InvalidInput("purpose must be 'loan', 'return' or 'transfer'")
        if sender == recipient:
            raise InvalidInput("a shipment goes from one library to another")
        waybill = waybill.strip().upper()
        if not WAYBILL.match(waybill):
            raise InvalidInput("waybill must be 6 to 40 letters, digits or dashes")
        if not parcels or len(parcels) > 50:
            raise InvalidInput("a shipment has 1 to 50 parcels")
        for parcel in parcels:
            grams = parcel.get("weight_grams")
            if not isinstance(grams, int) or not 1 <= grams <= 30_000:
                raise InvalidInput("each parcel needs weight_grams between 1 and 30000")
        try:
            postage = Decimal(declared_postage)
        except InvalidOperation:
            raise InvalidInput(f"declared postage {declared_postage!r} is not a number") from None
        if postage < 0 or postage > Decimal("100000000"):
            raise InvalidInput("declared postage must be 0..100,000,000 VND")
        return cls._create(
            cls.Dispatched,
            id=cls.id_for(partner, waybill),
            purpose=purpose,
            request_id=str(request_id),
            sender=sender,
            recipient=recipient,
            partner=partner,
            waybill=waybill,
            parcels=parcels,
            declared_postage=str(postage),
        )

    # -- the carrier's events -----------------------------------------------------------------
    def record_carrier_event(
        self,
        *,
        carrier_event_id: str,
        status: str,
        at: datetime,
        facility: str = "",
        signer: str = "",
        reason: str = "",
    ) -> bool:
        """Record one carrier update. Returns False for a duplicate (same carrier event id,
        nothing recorded); raises for an impossible update."""
        carrier_event_id = carrier_event_id.strip()
        if not carrier_event_id or len(carrier_event_id) > 100:
            raise InvalidInput("carrier_event_id must be 1 to 100 characters")
        if carrier_event_id in self.carrier_events:
            return False
        if status not in {s.value for s in CarrierStatus}:
            raise InvalidInput(f"unknown carrier status {status!r}")
        if at.tzinfo is None:
            raise InvalidInput("carrier event times need a time zone")
        if status == CarrierStatus.IN_TRANSIT and not facility.strip():
            raise InvalidInput("an in-transit update names the facility the parcel is at")
        if status == CarrierStatus.DELIVERED and not signer.strip():
            raise InvalidInput("a delivery needs the signer's name")
        if status == CarrierStatus.DELIVERY_FAILED and not reason.strip():
            raise InvalidInput("a failed delivery needs a reason")
        final = [e for e in self.carrier_events.values() if CarrierStatus(e["status"]) in FINAL]
        if final and CarrierStatus(status) in FINAL and final[0]["status"] != status:
            raise IllegalTransition(f"carrier status {status}", f"already {final[0]['status']}")
        self._carrier_event_recorded(
            carrier_event_id=carrier_event_id,
            status=status,
            at=at,
            facility=facility.strip(),
            signer=signer.strip(),
            reason=reason.strip(),
        )
        return True

    @event("CarrierEventRecorded")
    def _carrier_event_recorded(
        self,
        carrier_event_id: str,
        status: str,
        at: datetime,
        facility: str,
        signer: str,
        reason: str,
    ) -> None:
        self.carrier_events = {
            **self.carrier_events,
            carrier_event_id: {
                "status": status,
                "at": at,
                "facility": facility,
                "signer": signer,
                "reason": reason,
            },
        }

    def timeline(self) -> list[dict[str, Any]]:
        """The carrier's events in the carrier's order: by time, then by journey stage."""
        return sorted(
            ({"carrier_event_id": k, **v} for k, v in self.carrier_events.items()),
            key=lambda e: (e["at"], STAGE[CarrierStatus(e["status"])], e["carrier_event_id"]),
        )

    @property
    def status(self) -> str:
        """The carrier's latest status; a final one (delivered, returned, lost) wins."""
        events = self.timeline()
        if not events:
            return "created"
        finals = [e for e in events if CarrierStatus(e["status"]) in FINAL]
        return str((finals or events)[-1]["status"])

    # -- one parcel for several requests -------------------------------------------------
    def add_request(self, request_id: UUID, recipient: str) -> None:
        """Another request's item goes in the same parcels: loans from one library to
        another, or returns, packed together under one waybill. Only before the carrier
        has the parcels, and only to the same library."""
        rid = str(request_id)
        if self.purpose == "transfer":
            raise InvalidInput("a transfer's shipment carries that transfer only")
        if recipient != self.recipient:
            raise InvalidInput(
                f"request {rid} goes to {recipient}, not to {self.recipient}: not in one parcel"
            )
        if rid in self.requests:
            raise InvalidInput(f"request {rid} is in this shipment already")
        if self.carrier_events:
            raise IllegalTransition("adding a request", f"{self.status} (with the carrier)")
        if len(self.requests) >= 500:
            raise InvalidInput("a shipment carries at most 500 requests")
        self._request_added(request_id=rid, purpose=self.purpose)

    @event("RequestAdded")
    def _request_added(self, request_id: str, purpose: str) -> None:
        self.more_requests = [*self.more_requests, request_id]

    @property
    def requests(self) -> list[str]:
        """Every request the shipment carries an item of, the first one first."""
        return [self.request_id, *self.more_requests]

    # -- reorganising the network (ADR 0021) ----------------------------------------------
    def replace_library(self, old: str, new: str, why: str) -> bool:
        """Library `old` became `new` (a merge, a re-code): a parcel still on its way from
        or to it goes on from or to `new`; a journey ended is history, left as it was."""
        if old not in (self.sender, self.recipient) or self.status in FINAL:
            return False
        self._library_replaced(old=old, new=new, why=why)
        return True

    @event("LibraryReplaced")
    def _library_replaced(self, old: str, new: str, why: str) -> None:
        self.sender = new if self.sender == old else self.sender
        self.recipient = new if self.recipient == old else self.recipient

    @property
    def delivered(self) -> dict[str, Any] | None:
        return next((e for e in self.timeline() if e["status"] == CarrierStatus.DELIVERED), None)

    def last_carrier_time(self) -> datetime | None:
        events = self.timeline()
        return events[-1]["at"] if events else None
