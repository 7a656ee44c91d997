"""The write side of postal shipments: partners and their secrets, shipments dispatched
with a loan or a return, and carrier updates from the partners' webhook."""

from __future__ import annotations

import random
import time
from datetime import datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError

from domain.errors import DomainError, InvalidInput, NotFound
from domain.ill_request import IllRequest
from domain.postal_partner import PostalPartner
from domain.shipment import Shipment

if TYPE_CHECKING:
    from infra.network_app import NetworkApp
    from infra.partner_secrets import PartnerSecrets

# How often one carrier event is recorded again after losing a race to another update of
# the same shipment, before the partner is told to send it again.
CARRIER_EVENT_ATTEMPTS = 8


class ShipmentCommands:
    """Mixed into NetworkApp (see infra/network_app.py)."""

    partner_secrets: PartnerSecrets | None = None

    def register_partner(
        self: NetworkApp, code: str, name: str, subsidy_percent: int, monthly_cap: str
    ) -> tuple[PostalPartner, bool]:
        partner = PostalPartner.register(code, name, subsidy_percent, monthly_cap)
        try:
            self._save(partner)
            return partner, True
        except IntegrityError:
            return self.get_partner(code), False

    def get_partner(self: NetworkApp, code: str) -> PostalPartner:
        try:
            partner: PostalPartner = self.repository.get(PostalPartner.id_for(code.upper()))
        except AggregateNotFoundError:
            raise NotFound(f"postal partner {code} is not registered") from None
        return partner

    def add_partner_secret(self: NetworkApp, code: str) -> tuple[str, str]:
        """A new webhook secret (shown once); the existing one stays valid until retired."""
        assert self.partner_secrets is not None, "bootstrap sets the secrets store"
        partner = self.get_partner(code)
        secret_id, secret = self.partner_secrets.create(partner.code)
        partner.add_secret(secret_id)
        self._save(partner)
        return secret_id, secret

    def retire_partner_secret(self: NetworkApp, code: str, secret_id: str) -> None:
        partner = self.get_partner(code)
        partner.retire_secret(secret_id)
        self._save(partner)

    def partner_keys(self: NetworkApp, code: str) -> list[bytes]:
        assert self.partner_secrets is not None
        partner = self.get_partner(code)
        return self.partner_secrets.valid(partner.code, partner.secret_ids)

    def _dispatch(
        self: NetworkApp, req: IllRequest, library: str, purpose: str, p: dict[str, Any]
    ) -> Shipment:
        """The shipment that carries a loan (supplier -> requester) or its return."""
        partner = self.get_partner(str(p.get("partner", "")))
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

    def record_carrier_events(
        self: NetworkApp, partner_code: str, items: list[dict[str, Any]]
    ) -> list[dict[str, str]]:
        """Record a batch of carrier updates; one result per item (accepted, duplicate, or
        rejected with a reason). One bad item never sinks the rest."""
        results: list[dict[str, str]] = []
        for item in items:
            event_id = str(item.get("carrier_event_id", ""))
            try:
                result = self._record_carrier_event(partner_code, item)
            except DomainError as exc:
                result = {"result": "rejected", "reason": exc.detail}
            results.append({"carrier_event_id": event_id, **result})
        return results

    def _record_carrier_event(
        self: NetworkApp, partner_code: str, item: dict[str, Any]
    ) -> dict[str, str]:
        """One carrier update. Another update of the same shipment may be saved between our
        load and our save (the partner sends in parallel, or two batches overlap): then the
        save fails on the aggregate's version, and we reload and record again. Only a
        carrier event id that is recorded already is a duplicate."""
        for attempt in range(CARRIER_EVENT_ATTEMPTS):
            if attempt:  # the other writer is likely mid-save: step aside a little
                time.sleep(random.uniform(0, 0.01 * attempt))
            shipment = self._partner_shipment(partner_code, str(item.get("waybill", "")))
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
            changed = [shipment, *self._delivery_policy(shipment)]
            try:
                self._save(*changed)
            except IntegrityError:  # saved by someone else since we loaded it: reload
                continue
            return {"result": "accepted"}
        return {
            "result": "rejected",
            "reason": "the shipment kept changing while this event was recorded; send it again",
        }

    def _delivery_policy(self: NetworkApp, shipment: Shipment) -> list[IllRequest]:
        """Once the carrier says a parcel was delivered, its request records the arrival,
        in the same transaction: the partner's update never changes a request by itself,
        this policy of ours does, and only so far (the librarian confirms receipt)."""
        delivered = shipment.delivered
        if delivered is None:
            return []
        req = self.get_request(UUID(shipment.request_id))
        new = req.parcel_delivered(
            str(shipment.id), shipment.purpose, delivered["at"], delivered["signer"]
        )
        return [req] if new else []

    def _partner_shipment(self: NetworkApp, partner: str, waybill: str) -> Shipment:
        try:
            shipment: Shipment = self.repository.get(Shipment.id_for(partner, waybill))
        except AggregateNotFoundError:
            raise NotFound(f"unknown waybill {waybill!r}") from None
        return shipment


def _time(value: Any) -> datetime:
    try:
        at = datetime.fromisoformat(str(value))
    except ValueError:
        raise InvalidInput(f"'at' must be an ISO 8601 time with a zone, not {value!r}") from None
    if at.tzinfo is None:
        raise InvalidInput("'at' needs a time zone")
    return at
