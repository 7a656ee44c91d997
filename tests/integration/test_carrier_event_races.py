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
            "item_id": "HNM-TVT-W-KIEU-1",
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


def from_the_same_load(
    *senders: tuple[System, list[dict[str, Any]]],
) -> list[list[dict[str, str]]]:
    """Each instance records its updates, all from the same loaded shipment: writes to the
    event table wait on a lock (loads still read it) until every sender has loaded the
    shipment and waits to save; then the lock goes. One save wins; the others fail on the
    shipment's version and go on from a reload. Returns each sender's results."""
    (first, _), results = senders[0], [[] for _ in senders]

    def send(i: int, system: System, items: list[dict[str, Any]]) -> None:
        results[i] = system.shipments.record_carrier_events(TESTER, "VNPOST", items)

    threads = [
        threading.Thread(target=send, args=(i, system, items))
        for i, (system, items) in enumerate(senders)
    ]
    with first.db.connect() as lock:  # one transaction, holding the lock until it ends
        lock.execute("LOCK TABLE libshare_events IN SHARE ROW EXCLUSIVE MODE")
        for t in threads:
            t.start()
        eventually(lambda: waiting_to_save(first) == len(senders), what="every sender to wait")
    for t in threads:
        t.join(20)
    return results


def waiting_to_save(system: System) -> int:
    with system.db.transaction() as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_locks "
            "WHERE NOT granted AND relation = 'libshare_events'::regclass"
        ).fetchone()
    return int(row[0]) if row else 0


def shipment_now(system: System) -> Shipment:
    found: Shipment = system.app.repository.get(Shipment.id_for("VNPOST", WAYBILL))
    return found


def test_a_different_update_that_loses_the_race_is_recorded_not_reported_duplicate(
    make_system: Callable[..., System],
) -> None:
    ours, theirs = make_system(), make_system()
    shipped_by_post(ours)
    results = from_the_same_load(
        (theirs, [update("c1", "accepted", 9)]), (ours, [update("c2", "in_transit", 14)])
    )
    assert results == [
        [{"carrier_event_id": "c1", "result": "accepted"}],
        [{"carrier_event_id": "c2", "result": "accepted"}],
    ]
    assert recorded(ours) == {"c1", "c2"}
    assert shipment_now(ours).version == 3  # both on top of the one they loaded


def test_the_same_update_that_loses_the_race_is_a_duplicate_recorded_once(
    make_system: Callable[..., System],
) -> None:
    ours, theirs = make_system(), make_system()
    shipped_by_post(ours)
    results = from_the_same_load(
        (theirs, [update("c1", "accepted", 9)]), (ours, [update("c1", "accepted", 9)])
    )
    assert sorted(r["result"] for (r,) in results) == ["accepted", "duplicate"]
    shipment = shipment_now(ours)
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
