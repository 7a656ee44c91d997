"""The Shipment aggregate, without I/O: carrier events recorded once, in the carrier's
order whatever the order of arrival."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.errors import IllegalTransition, InvalidInput
from domain.shipment import Shipment

T0 = datetime(2026, 11, 3, 7, 0, tzinfo=UTC)
TIMELINE = [
    {"carrier_event_id": "e1", "status": "label_created", "at": T0},
    {"carrier_event_id": "e2", "status": "accepted", "at": T0 + timedelta(hours=2)},
    {
        "carrier_event_id": "e3",
        "status": "in_transit",
        "at": T0 + timedelta(hours=5),
        "facility": "Bưu cục Phủ Lý",
    },
    {"carrier_event_id": "e4", "status": "out_for_delivery", "at": T0 + timedelta(hours=20)},
    {
        "carrier_event_id": "e5",
        "status": "delivery_failed",
        "at": T0 + timedelta(hours=22),
        "reason": "thư viện đóng cửa",
    },
    {"carrier_event_id": "e6", "status": "out_for_delivery", "at": T0 + timedelta(hours=44)},
    {
        "carrier_event_id": "e7",
        "status": "delivered",
        "at": T0 + timedelta(hours=46),
        "signer": "Nguyễn Thị Lan",
    },
]


def new_shipment() -> Shipment:
    return Shipment.create(
        purpose="loan",
        request_id=uuid.uuid4(),
        sender="HNM-TVT",
        recipient="HNM-S-ADT",
        partner="VNPOST",
        waybill="EB123456789VN",
        parcels=[{"weight_grams": 850, "contents": ["TVT-KIEU-3"]}],
        declared_postage="32000",
    )


def state(s: Shipment) -> tuple[str, list[dict[str, object]]]:
    return s.status, s.timeline()


def test_the_ordered_timeline_ends_delivered_with_the_signer() -> None:
    s = new_shipment()
    for e in TIMELINE:
        assert s.record_carrier_event(**e)
    assert s.status == "delivered"
    assert s.delivered is not None and s.delivered["signer"] == "Nguyễn Thị Lan"


@settings(max_examples=200, deadline=None)
@given(st.permutations(TIMELINE), st.lists(st.sampled_from(TIMELINE), max_size=10))
def test_any_order_with_any_duplicates_ends_in_the_same_state(
    order: list[dict[str, object]], duplicates: list[dict[str, object]]
) -> None:
    expected = new_shipment()
    for e in TIMELINE:
        expected.record_carrier_event(**e)  # type: ignore[arg-type]
    s = new_shipment()
    recorded = 0
    for e in [*order, *duplicates]:
        recorded += s.record_carrier_event(**e)  # type: ignore[arg-type]
    assert recorded == len(TIMELINE)  # duplicates record nothing
    assert state(s) == state(expected)


def test_impossible_updates_are_refused() -> None:
    s = new_shipment()
    with pytest.raises(InvalidInput, match="unknown carrier status"):
        s.record_carrier_event(carrier_event_id="x", status="teleported", at=T0)
    with pytest.raises(InvalidInput, match="signer"):
        s.record_carrier_event(carrier_event_id="x", status="delivered", at=T0)
    with pytest.raises(InvalidInput, match="facility"):
        s.record_carrier_event(carrier_event_id="x", status="in_transit", at=T0)
    s.record_carrier_event(carrier_event_id="d", status="delivered", at=T0, signer="A")
    with pytest.raises(IllegalTransition, match="already delivered"):
        s.record_carrier_event(carrier_event_id="l", status="lost", at=T0)


def test_a_shipment_needs_a_waybill_parcels_and_two_libraries() -> None:
    with pytest.raises(InvalidInput, match="waybill"):
        Shipment.create(
            purpose="loan",
            request_id=uuid.uuid4(),
            sender="A",
            recipient="B",
            partner="VNPOST",
            waybill="x",
            parcels=[{"weight_grams": 10}],
            declared_postage="1",
        )
    with pytest.raises(InvalidInput, match="weight_grams"):
        Shipment.create(
            purpose="loan",
            request_id=uuid.uuid4(),
            sender="A",
            recipient="B",
            partner="VNPOST",
            waybill="EB1234567",
            parcels=[{"weight_grams": 0}],
            declared_postage="1",
        )
