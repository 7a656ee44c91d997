"""A merge while parcels are on their way: a parcel posted to the merged library goes on
to the library it joined (its shipment records LibraryReplaced in the merge's
transaction), shows in that library's parcels in transit, and the carrier's delivery
reaches the request as before; a parcel delivered before the merge stays as it was, and
the month's postage stays with the library that sent it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from uuid import UUID

from composition.bootstrap import System
from composition.demo_network import load_demo
from domain.legal_act import LegalAct
from domain.shipment import Shipment
from projections.shipments import in_transit, statement
from tests.actors import TESTER
from tests.integration.support import carrier_update, eventually, ship_loan


def _waybills(system: System, library: str) -> set[str]:
    with system.db.transaction() as conn:
        return {s["waybill"] for s in in_transit(conn, library)}


def test_a_parcel_on_its_way_to_a_merged_library_goes_on_to_the_one_it_joined(
    system: System,
) -> None:
    load_demo(system)
    system.start_projector()
    eventually(lambda: bool(system.candidate_finder("W-KIEU")), what="the catalogue")
    now = datetime.now(UTC)
    sent = ship_loan(system, "HNM-TL", "W-KIEU", "VN-TL-000001", "32000")
    ship_loan(system, "HNM-TL", "W-KIEU", "VN-TL-000002", "32000")
    carrier_update(system, "ev-1", "VN-TL-000002", "delivered", now, signer="Thủ thư TL")
    eventually(lambda: _waybills(system, "HNM-TL") == {"VN-TL-000001"}, what="in transit")
    month = now.date().replace(day=1)
    with system.db.transaction() as conn:
        postage_before = statement(conn, month)

    act = LegalAct("Quyết định 7/QĐ-UBND", now.date(), now.date())
    done = system.reorganisation.merge(TESTER, "HNM-TL", "HNM-PL", "Sắp xếp", act, now.date())
    assert done["moved"]["others"] >= 1
    on_way: Shipment = system.app.repository.get(Shipment.id_for("VNPOST", "VN-TL-000001"))
    arrived: Shipment = system.app.repository.get(Shipment.id_for("VNPOST", "VN-TL-000002"))
    assert on_way.recipient == "HNM-PL" and arrived.recipient == "HNM-TL"
    eventually(lambda: "VN-TL-000001" in _waybills(system, "HNM-PL"), what="Phủ Lý's queue")
    assert _waybills(system, "HNM-TL") == set()

    later = now + timedelta(hours=1)
    carrier_update(system, "ev-2", "VN-TL-000001", "delivered", later, signer="Thủ thư PL")
    eventually(lambda: _waybills(system, "HNM-PL") == set(), what="the delivery")
    request = system.requests.get_request(UUID(str(sent["id"])))
    assert request.requester == "HNM-PL" and request.deliveries  # the request knows
    with system.db.transaction() as conn:
        assert statement(conn, month) == postage_before
    assert sum(Decimal(str(r["cost"])) for r in postage_before) >= Decimal("64000")
