"""Rebuilding a read model from zero, and replaying parked events."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from composition.bootstrap import System
from composition.demo_network import load_demo
from infra.envelope import Envelope
from projections.dead_letters import parked
from projections.libraries import LibrariesProjection
from projections.projection import Statement
from projections.runner import ProjectionRunner
from projections.statistics import month_of, monthly
from tests.actors import ACT_2025, TESTER
from tests.integration.support import (
    carrier_update,
    libraries,
    read_model_rows,
    register_many,
    ship_loan,
    ship_return,
)
from tests.integration.test_projection_runner import drain


def all_rows(system: System) -> list[tuple[Any, ...]]:
    return read_model_rows(system, "libraries")["libraries"]


def test_a_rebuild_gives_tables_identical_row_for_row_to_the_live_ones(system: System) -> None:
    codes = register_many(system, 40)
    for code in codes[::7]:
        system.reorganisation.rename(TESTER, code, f"Tên mới {code}", "kiểm thử", ACT_2025)
    runner = system.make_runner()
    drain(system, runner)
    live = all_rows(system)
    progress: list[tuple[int, int]] = []

    report = system.rebuild("libraries", lambda done, total: progress.append((done, total)))

    assert report.events == 46 and report.applied == 46
    assert all_rows(system) == live
    assert progress[-1] == (46, 46)
    # The live projector goes on after the swap, without applying anything twice.
    system.catalogue.register_library(TESTER, "HNM-NEW", "Thư viện mới", "school", "Phủ Lý")
    assert drain(system, runner) == 1
    assert len(libraries(system)) == 41


def scenario(system: System, runner: ProjectionRunner) -> None:
    """Loans and returns by post with two partners (one library's subsidy reaching its
    cap), carrier updates out of order and twice, a final status, a cancelled request
    and an unfilled one: everything the statistics and shipments projections handle."""
    system.partners.register_partner(TESTER, "GHN", "Giao Hàng Nhanh", 30, "100000")
    drain(system, runner)
    now = datetime.now(UTC)
    loans = [
        ship_loan(system, "HNM-S-BH", "W-KIEU", "EB300000001VN", "400000"),
        ship_loan(system, "HNM-S-APL", "W-KIEU", "EB300000002VN", "500000"),
        ship_loan(system, "HNM-S-ADT", "W-KIEU", "EB300000003VN", "35000.25"),
        ship_loan(system, "HNM-S-BH", "W-CHIPHEO", "GHN-0000001", "250000", partner="GHN"),
        ship_loan(system, "HNM-S-BLY", "W-KIEU", "EB300000004VN", "300000"),  # the cap
    ]
    ship_return(system, loans[0]["id"], "HNM-S-BH", "EB300000005VN", "41000")
    timeline = [
        ("c3", "in_transit", now + timedelta(hours=5), {"facility": "Bưu cục Phủ Lý"}),
        ("c1", "accepted", now + timedelta(hours=1), {}),
        ("c4", "delivered", now + timedelta(days=1), {"signer": "Nguyễn Thị Lan"}),
        ("c2", "out_for_delivery", now + timedelta(hours=20), {}),
        ("c1", "accepted", now + timedelta(hours=1), {}),  # the carrier sends it again
    ]
    for event_id, status, at, extra in timeline:
        carrier_update(system, event_id, "EB300000001VN", status, at, **extra)
    carrier_update(system, "x1", "EB300000002VN", "delivery_failed", now, reason="Vắng nhà")
    cancelled = system.requests.request_item(
        TESTER, requester="HNM-S-ATL", work="W-DEMEN", reader_ref="BD-7", now=now
    )
    system.requests.take_action(
        TESTER, UUID(cancelled["id"]), library="HNM-S-ATL", action="Cancel", params={}, now=now
    )
    system.requests.take_action(
        TESTER,
        UUID(cancelled["id"]),
        library=cancelled["supplier"],
        action="CancelResponse",
        params={"answer": "Y"},
        now=now,
    )
    # Its one digital copy lent (ADR 0022) to this reader, a never-ship work's loan for
    # the same reader ends Unfilled at once (another reader would wait for it).
    system.digital.borrow(
        TESTER,
        "W-THANTICH",
        reader_ref="BD-TVT-1",
        library="HNM-TVT",
        reader_type="adult",
        client_request_id=None,
        now=now,
    )
    unfilled = system.requests.request_item(
        TESTER, requester="HNM-S-ABL", work="W-THANTICH", reader_ref="BD-TVT-1", now=now
    )
    assert unfilled["status"] == "Unfilled"
    drain(system, runner)


def network_postage(system: System) -> str:
    with system.db.transaction() as conn:
        return str(monthly(conn, month_of(datetime.now(UTC)))["network"]["postage"])


def test_rebuilt_statistics_and_shipments_equal_the_live_ones_row_for_row(
    system: System,
) -> None:
    load_demo(system)
    runner = system.make_runner()
    drain(system, runner)
    scenario(system, runner)
    live = read_model_rows(system, "statistics", "shipments")
    assert all(live.values()), {t: len(rows) for t, rows in live.items()}
    assert len(live["shipments"]) == 6 and len(live["shipment_carrier_events"]) == 5
    assert network_postage(system) == "1526000.25"

    for name in ("statistics", "shipments"):
        report = system.rebuild(name)
        assert report.applied > 0

    assert read_model_rows(system, "statistics", "shipments") == live
    # The live projector goes on after the swaps, applying each new event once.
    ship_loan(system, "HNM-S-BH", "W-KIEU", "EB300000009VN", "1000")
    drain(system, runner)
    assert network_postage(system) == "1527000.25"
    assert len(read_model_rows(system, "shipments")["shipments"]) == 7


def test_a_rebuild_repairs_a_read_model_that_lost_rows(system: System) -> None:
    register_many(system, 10)
    drain(system, system.make_runner())
    with system.db.transaction() as conn:
        conn.execute("DELETE FROM libraries WHERE code IN ('T-0003', 'T-0004')")
    system.rebuild("libraries")
    assert len(libraries(system)) == 10


class BuggyLibraries(LibrariesProjection):
    """The libraries projection as deployed with a bug; the system's own one is the fix."""

    def statements(self, event: Envelope) -> Iterable[Statement]:
        if event.data.get("code") == "T-0001":
            raise RuntimeError("bug in the projection")
        return super().statements(event)


def test_a_parked_event_is_applied_once_the_projection_is_fixed(system: System) -> None:
    register_many(system, 3)
    drain(system, system.make_runner([BuggyLibraries()]))
    assert [r["code"] for r in libraries(system)] == ["T-0000", "T-0002"]
    assert len(parked(system.db, "libraries")) == 1

    assert system.replay_parked("libraries") == {"replayed": 1, "failed": 0}
    assert [r["code"] for r in libraries(system)] == ["T-0000", "T-0001", "T-0002"]
    assert parked(system.db, "libraries") == []
    (done,) = parked(system.db, "libraries", include_replayed=True)
    assert done["replayed_at"] is not None
