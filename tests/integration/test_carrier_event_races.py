"""Carrier updates of one shipment saved concurrently, on the real PostgreSQL event store:
a different update that loses the race is recorded after a reload, never dropped as a
duplicate; the same update arriving twice at once is recorded once."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from composition.bootstrap import System
from composition.demo_network import load_demo
from domain.shipment import Shipment
from services.shipments import ShipmentsService, StoredWaybills
from tests.actors import TESTER
from tests.integration.support import eventually

WAYBILL = "EB200000001VN"
NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


def shipped_by_post(system: System) -> None:
    """A school asks the provincial library for a book, which ships it with VNPOST."""
    load_demo(system)
    system.start_projector()
    eventually(lambda: bool(system.candidate_finder("W-KIEU")), what="the catalogue")
    created = system.requests.request_item(
        TESTER, requester="HNM-S-BH", work="W-KIEU", reader_ref="BD-0042", now=NOW
    )
    assert created["supplier"] == "HNM-TVT"
    system.requests.take_action(
        TESTER,
        created["id"],
        library="HNM-TVT",
        action="Loaned",
        params={
            "item_id": "TVT-DT-1",
            "shipment": {
                "partner": "VNPOST",
                "waybill": WAYBILL,
                "parcels": [{"weight_grams": 900}],
            },
        },
        now=NOW,
    )


def update(event_id: str, status: str, hour: int) -> dict[str, Any]:
    return {
        "carrier_event_id": event_id,
        "waybill": WAYBILL,
        "status": status,
        "at": f"2026-11-25T{hour:02d}:00:00+07:00",
        "facility": "Bưu cục Phủ Lý",
    }


def recorded(system: System) -> set[str]:
    shipment: Shipment = system.app.repository.get(Shipment.id_for("VNPOST", WAYBILL))
    return set(shipment.carrier_events)


class StaleFirst:
    """Waybills whose first load of the shipment returns it as it is now, as if another
    update were saved between that load and its save."""

    def __init__(self, system: System) -> None:
        self.stale = system.app.repository.get(Shipment.id_for("VNPOST", WAYBILL))
        self.stored = StoredWaybills(system.app)
        self.loads = 0

    def shipment(self, partner: str, waybill: str) -> Shipment:
        self.loads += 1
        return self.stale if self.loads == 1 else self.stored.shipment(partner, waybill)


def stale_first(system: System) -> ShipmentsService:
    """The shipments service of `system`, built as the composition root builds it, but
    on waybills that hand out a stale copy first."""
    return ShipmentsService(system.app, StaleFirst(system))


def test_a_different_update_that_loses_the_race_is_recorded_not_reported_duplicate(
    make_system: Callable[..., System],
) -> None:
    ours, theirs = make_system(), make_system()
    shipped_by_post(ours)
    ours_late = stale_first(ours)
    assert theirs.shipments.record_carrier_events(
        TESTER, "VNPOST", [update("c1", "accepted", 9)]
    ) == [{"carrier_event_id": "c1", "result": "accepted"}]
    results = ours_late.record_carrier_events(TESTER, "VNPOST", [update("c2", "in_transit", 14)])
    assert results == [{"carrier_event_id": "c2", "result": "accepted"}]
    assert recorded(ours) == {"c1", "c2"}


def test_the_same_update_that_loses_the_race_is_a_duplicate_recorded_once(
    make_system: Callable[..., System],
) -> None:
    ours, theirs = make_system(), make_system()
    shipped_by_post(ours)
    ours_late = stale_first(ours)
    theirs.shipments.record_carrier_events(TESTER, "VNPOST", [update("c1", "accepted", 9)])
    results = ours_late.record_carrier_events(TESTER, "VNPOST", [update("c1", "accepted", 9)])
    assert results == [{"carrier_event_id": "c1", "result": "duplicate"}]
    shipment: Shipment = ours.app.repository.get(Shipment.id_for("VNPOST", WAYBILL))
    assert set(shipment.carrier_events) == {"c1"} and shipment.version == 2


def test_updates_sent_in_parallel_by_two_instances_are_all_recorded(
    make_system: Callable[..., System],
) -> None:
    first, second = make_system(), make_system()
    shipped_by_post(first)
    batches = [
        (first, [update(f"a{i}", "in_transit", 8 + i) for i in range(8)]),
        (second, [update(f"b{i}", "in_transit", 8 + i) for i in range(8)]),
    ]
    results: list[dict[str, str]] = []

    def send(system: System, items: list[dict[str, Any]]) -> None:
        for item in items:  # one item per call: as many races as possible
            results.extend(system.shipments.record_carrier_events(TESTER, "VNPOST", [item]))

    threads = [threading.Thread(target=send, args=batch) for batch in batches]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert {r["result"] for r in results} == {"accepted"}, results
    assert recorded(first) == {e["carrier_event_id"] for _, items in batches for e in items}
