"""A library's dashboard counts what waits for it, from the read models: requests to
answer and to receive, parcels in transit (and none stuck yet), readers on its digital
waitlist; another library's tiles do not count them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from composition.bootstrap import System
from composition.demo_network import load_demo
from domain.access import Principal
from domain.account import Role
from projections.dashboard import library_dashboard
from services.commands import BorrowDigital, PlaceDigitalHold
from tests.integration.support import eventually, ship_loan


def _tiles(system: System, library: str, now: datetime) -> dict[str, Any]:
    with system.db.transaction() as conn:
        return {t["key"]: t for t in library_dashboard(conn, library, now, 5)}


def test_the_dashboard_counts_what_waits_for_each_library(
    make_system: Callable[..., System], tmp_path: Path
) -> None:
    system = make_system(digital_pages_dir=tmp_path / "pages")
    load_demo(system)
    system.start_projector()
    eventually(lambda: bool(system.candidate_finder("W-KIEU")), what="the catalogue")
    sent = ship_loan(system, "HNM-S-ADT", "W-KIEU", "VN-DASH-0001", "25000")
    asked = system.requests.request_item(
        {"account": "t", "role": "librarian"},
        requester="HNM-S-ADT",
        work="W-CHIPHEO",
        reader_ref="BD-7",
        now=datetime.now(UTC),
    )
    tvt = Principal("thuthu.tvt", frozenset({Role.LIBRARIAN}), library="HNM-TVT")
    system.entry.act(tvt, BorrowDigital("W-HUONGUOC", "TVT-R-1"))
    system.entry.act(tvt, PlaceDigitalHold("W-HUONGUOC", "TVT-R-2"))
    now = datetime.now(UTC)

    def counted() -> bool:
        school = _tiles(system, "HNM-S-ADT", now)
        return school["to_receive"]["count"] == 1 and school["parcels_in_transit"]["count"] == 1

    eventually(counted, what="the requester's dashboard")
    school = _tiles(system, "HNM-S-ADT", now)
    assert school["waiting_on_others"]["count"] == 1 and school["parcels_stuck"]["count"] == 0
    assert school["to_receive"]["oldest"] is not None
    supplier = asked["supplier"]
    eventually(lambda: _tiles(system, supplier, now)["to_answer"]["count"] >= 1, what="supplier")
    eventually(
        lambda: _tiles(system, "HNM-TVT", now)["digital_waiting"]["count"] == 1,
        what="the waitlist",
    )
    assert _tiles(system, "HNM-KB", now)["digital_waiting"]["count"] == 0
    later = _tiles(system, "HNM-S-ADT", now + timedelta(days=6))
    assert later["parcels_stuck"]["count"] == 1  # no carrier news for 6 days
    assert sent["status"] == "Loaned"
