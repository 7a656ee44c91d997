"""One parcel for several requests: the provincial library lends two copies to one school
under one waybill; the carrier's delivery reaches both requests; a parcel for two
libraries, a request named twice or another library's request is refused, and nothing
of the refused command is written."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from composition.bootstrap import System
from tests.e2e.callers import Librarian, seen
from tests.e2e.test_postal_partners import Carrier, world  # noqa: F401 (fixture)
from tests.integration.support import eventually

PARCEL = {
    "partner": "VNPOST",
    "waybill": "EB500000001VN",
    "declared_postage": "45000",
    "parcels": [{"weight_grams": 1600}],
}


def together(lib: Librarian, items: list[tuple[str, str]], **shipment: Any) -> Any:
    body = {
        "action": "Loaned",
        "items": [{"request_id": r, "item_id": i} for r, i in items],
        "shipment": {**PARCEL, **shipment},
    }
    return lib.post("/shipments", body)


def test_two_loans_to_one_school_go_in_one_parcel(
    world: tuple[TestClient, System, Carrier],  # noqa: F811
) -> None:
    client, _, carrier = world
    school, provincial = Librarian(client, "HNM-S-BH"), Librarian(client, "HNM-TVT")
    first, second = school.request("W-KIEU"), school.request("W-KIEU")
    other_school = Librarian(client, "HNM-S-ADT").request("W-KIEU", reader_ref="BD-9")
    assert {first["supplier"], second["supplier"]} == {"HNM-TVT"}

    if other_school["supplier"] == "HNM-TVT":  # two libraries: not one parcel
        mixed = together(
            provincial,
            [(first["id"], "HNM-TVT-W-KIEU-1"), (other_school["id"], "HNM-TVT-W-KIEU-2")],
        )
        assert mixed.status_code == 422 and "not in one parcel" in mixed.text
    twice = together(provincial, [(first["id"], "HNM-TVT-W-KIEU-1")] * 2)
    assert twice.status_code == 422
    stranger = together(Librarian(client, "HNM-KB"), [(first["id"], "HNM-KB-W-KIEU-1")])
    assert stranger.status_code in (403, 404), stranger.text  # not its request, or turn
    assert seen(school, first["id"], "RequestReceived")["status"] == "RequestReceived"

    r = together(
        provincial, [(first["id"], "HNM-TVT-W-KIEU-1"), (second["id"], "HNM-TVT-W-KIEU-2")]
    )
    assert r.status_code == 201, r.text
    assert r.json()["requests"] == [first["id"], second["id"]]
    for rid in (first["id"], second["id"]):
        shown = seen(school, rid, "Loaned")
        assert [s["waybill"] for s in shown["shipments"]] == ["EB500000001VN"]
    eventually(lambda: carrier.pickups().json() != [], what="the pickup")
    (pickup,) = carrier.pickups().json()
    assert pickup["parcels"][0]["parcels"][0]["contents"] == [
        "HNM-TVT-W-KIEU-1",
        "HNM-TVT-W-KIEU-2",
    ]

    delivered = {
        "carrier_event_id": "t1",
        "waybill": "EB500000001VN",
        "status": "delivered",
        "at": "2026-11-26T10:00:00+07:00",
        "signer": "Hiệu trưởng",
    }
    assert carrier.post([delivered]).json()["accepted"] == 1
    for rid in (first["id"], second["id"]):
        eventually(
            lambda rid=rid: school.get(f"/requests/{rid}").json().get("arrived_at"),
            what="the delivery on each request",
        )
    third = school.request("W-KIEU")
    late = together(provincial, [(third["id"], "HNM-TVT-W-KIEU-3")])
    assert late.status_code == 409, late.text  # a waybill is one shipment: not used again
    assert seen(school, third["id"], "RequestReceived")["shipments"] == []
