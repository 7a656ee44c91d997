"""Postal partners over HTTP: the signed webhook, per-item results, pickups, the request
showing delivery, and the monthly postage statement with the subsidy and its cap."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.partners import sign
from composition.bootstrap import System
from domain.shipment import Shipment
from infra.clock import utc_now
from tests.actors import TESTER
from tests.e2e.callers import Librarian, Network, headers_for, network_admin, seen
from tests.integration.support import eventually


class Carrier:
    def __init__(self, client: TestClient, code: str, secret: str) -> None:
        self.client, self.code, self.secret = client, code, secret.encode()

    def post(
        self,
        events: list[dict[str, Any]],
        *,
        secret: bytes | None = None,
        timestamp: int | None = None,
        tamper: bool = False,
        code: str | None = None,
    ) -> Any:
        body = json.dumps({"events": events}).encode()
        ts = str(timestamp if timestamp is not None else int(time.time()))
        signature = sign(secret or self.secret, ts, body)
        if tamper:
            body = body.replace(b"in_transit", b"delivered")
        return self.client.post(
            f"/partners/{code or self.code}/shipment-events",
            content=body,
            headers={
                "X-Libshare-Timestamp": ts,
                "X-Libshare-Signature": signature,
                "content-type": "application/json",
            },
        )

    def pickups(self, code: str | None = None) -> Any:
        """The carrier's routing system reads pickups with its API key."""
        headers = headers_for(self.client, "postal_partner", partner=self.code)
        return self.client.get(f"/partners/{code or self.code}/pickups", headers=headers)


@pytest.fixture
def world(serve_network: Callable[..., Network]) -> tuple[TestClient, System, Carrier]:
    client, system = serve_network(webhook_burst=5, webhook_rate_per_second=0.5)
    _, secret = system.partners.add_partner_secret(TESTER, "VNPOST")
    return client, system, Carrier(client, "VNPOST", secret)


def shipped_loan(
    client: TestClient, waybill: str = "EB100000001VN", postage: str = "40000"
) -> tuple[Librarian, Librarian, str]:
    school, provincial = Librarian(client, "HNM-S-BH"), Librarian(client, "HNM-TVT")
    created = school.request("W-KIEU")  # the provincial library holds 5 copies
    assert created["supplier"] == "HNM-TVT"
    provincial.lend(
        created["id"],
        "W-KIEU",
        shipment={
            "partner": "VNPOST",
            "waybill": waybill,
            "declared_postage": postage,
            "parcels": [{"weight_grams": 900, "contents": ["TVT-DT-1"]}],
        },
    )
    return school, provincial, created["id"]


def carrier_events(system: System, waybill: str) -> dict[str, Any]:
    shipment: Shipment = system.app.repository.get(Shipment.id_for("VNPOST", waybill))
    return shipment.carrier_events


def test_bad_signatures_stale_times_tampered_bodies_and_strangers_are_refused(
    world: tuple[TestClient, System, Carrier],
) -> None:
    client, system, carrier = world
    shipped_loan(client)
    event = [
        {
            "carrier_event_id": "c1",
            "waybill": "EB100000001VN",
            "status": "in_transit",
            "at": "2026-11-25T08:00:00+07:00",
            "facility": "Bưu cục Phủ Lý",
        }
    ]
    for response in (
        carrier.post(event, secret=b"not-the-secret"),
        carrier.post(event, timestamp=int(time.time()) - 301),
        carrier.post(event, tamper=True),
        carrier.post(event, code="GHN"),
    ):
        assert response.status_code == 401, response.text
        assert response.json()["type"] == "/problems/unauthenticated"
    assert carrier_events(system, "EB100000001VN") == {}
    assert carrier.post(event).status_code == 200
    assert list(carrier_events(system, "EB100000001VN")) == ["c1"]


def test_a_mixed_batch_gets_a_result_per_item_and_records_only_the_valid_ones(
    world: tuple[TestClient, System, Carrier],
) -> None:
    client, system, carrier = world
    shipped_loan(client)
    at = "2026-11-25T09:00:00+07:00"
    ok = {"carrier_event_id": "v1", "waybill": "EB100000001VN", "status": "accepted", "at": at}
    r = carrier.post(
        [
            ok,
            dict(ok),
            {**ok, "carrier_event_id": "u1", "waybill": "EB999999999VN"},
            {**ok, "carrier_event_id": "i1", "status": "delivered"},  # no signer
            {**ok, "carrier_event_id": "i2", "status": "teleported"},
            {**ok, "carrier_event_id": "i3", "at": "yesterday"},
        ]
    )
    assert r.status_code == 200
    results = [(x["carrier_event_id"], x["result"]) for x in r.json()["results"]]
    assert results == [
        ("v1", "accepted"),
        ("v1", "duplicate"),
        ("u1", "rejected"),
        ("i1", "rejected"),
        ("i2", "rejected"),
        ("i3", "rejected"),
    ]
    reasons = [x.get("reason", "") for x in r.json()["results"]]
    assert "unknown waybill" in reasons[2] and "signer" in reasons[3]
    assert list(carrier_events(system, "EB100000001VN")) == ["v1"]


def test_a_loan_shipped_by_post_shows_delivery_and_the_librarian_confirms_receipt(
    world: tuple[TestClient, System, Carrier],
) -> None:
    client, _, carrier = world
    school, _, rid = shipped_loan(client)
    eventually(lambda: carrier.pickups().json() != [], what="the pickup list")
    (pickup,) = carrier.pickups().json()
    assert "BD-0042" not in carrier.pickups().text  # a carrier never sees a reader
    assert pickup["library"] == "HNM-TVT" and pickup["parcels"][0]["waybill"] == "EB100000001VN"
    timeline = [
        ("e3", "in_transit", "2026-11-25T14:00:00+07:00", {"facility": "Bưu cục Phủ Lý"}),
        ("e1", "accepted", "2026-11-25T09:00:00+07:00", {}),
        ("e4", "delivered", "2026-11-26T10:00:00+07:00", {"signer": "Trần Văn Minh"}),
        ("e2", "out_for_delivery", "2026-11-26T08:00:00+07:00", {}),
    ]
    r = carrier.post(
        [
            {"carrier_event_id": i, "waybill": "EB100000001VN", "status": s, "at": at, **extra}
            for i, s, at, extra in timeline
        ]
    )
    assert r.json()["accepted"] == 4
    eventually(
        lambda: school.get(f"/requests/{rid}").json().get("arrived_at") is not None,
        what="the delivery to show on the request",
    )
    detail = school.get(f"/requests/{rid}").json()
    assert detail["status"] == "Loaned"  # the carrier never changes the request itself
    assert detail["shipments"][0]["status"] == "delivered"
    assert detail["shipments"][0]["signer"] == "Trần Văn Minh"
    assert detail["arrived_at"].startswith("2026-11-26T03:00:00")  # the carrier's time, UTC
    # The delivery is on the request's own record, once, put there by our policy.
    (delivered,) = [e for e in detail["timeline"] if e["event"] == "ParcelDelivered"]
    assert delivered["data"]["signer"] == "Trần Văn Minh"
    assert delivered["actor"]["partner"] == "VNPOST"
    again = carrier.post(
        [
            {
                "carrier_event_id": "e5",
                "waybill": "EB100000001VN",
                "status": "delivered",
                "at": "2026-11-26T10:05:00+07:00",
                "signer": "Trần Văn Minh",
            }
        ]
    )
    assert again.json()["accepted"] == 1
    assert carrier.pickups().json() == []
    school.ok(rid, "Received")
    received = seen(school, rid, "Received")
    assert [e["event"] for e in received["timeline"]].count("ParcelDelivered") == 1


def test_the_monthly_statement_sums_cost_and_subsidy_within_the_cap(
    world: tuple[TestClient, System, Carrier],
) -> None:
    client, _, _ = world
    # 50% subsidy, capped at 500,000 VND per library per month (the demo agreement).
    shipped_loan(client, "EB100000001VN", "400000")  # subsidy 200,000
    shipped_loan(client, "EB100000002VN", "500000")  # 250,000
    shipped_loan(client, "EB100000003VN", "300000")  # 150, but only 50,000 left under the cap

    def rows() -> list[dict[str, Any]]:
        return list(
            client.get(
                "/postage/statements", params={"library": "HNM-TVT"}, headers=department
            ).json()
        )

    department = headers_for(client, "department")

    eventually(lambda: rows() and rows()[0]["shipments"] == 3, what="the statement")
    (row,) = rows()
    assert row["partner"] == "VNPOST"
    assert Decimal(row["cost"]) == Decimal("1200000")
    assert Decimal(row["subsidy"]) == Decimal("500000")
    assert Decimal(row["payable"]) == Decimal("700000")
    csv = client.get(
        "/postage/statements.csv", params={"library": "HNM-TVT"}, headers=department
    ).text
    assert csv.splitlines()[0] == "month,library,partner,shipments,cost,subsidy,payable"
    assert ",HNM-TVT,VNPOST,3,1200000.00,500000.00,700000.00" in csv


def test_secrets_rotate_with_two_valid_at_once_and_the_retired_one_refused(
    world: tuple[TestClient, System, Carrier],
) -> None:
    client, system, carrier = world
    admin = network_admin(client)
    old_id = system.partners.get_partner("VNPOST").secret_ids[0]
    issued = client.post("/partners/VNPOST/secrets", headers=admin)
    assert issued.status_code == 201
    fresh = Carrier(client, "VNPOST", issued.json()["secret"])
    assert carrier.post([]).status_code == 200 and fresh.post([]).status_code == 200
    # A third secret waits until one of the two is retired.
    assert client.post("/partners/VNPOST/secrets", headers=admin).status_code == 422
    r = client.delete(f"/partners/VNPOST/secrets/{old_id}", headers=admin)
    assert r.status_code == 200 and r.json()["secret_ids"] == [issued.json()["secret_id"]]
    assert carrier.post([]).status_code == 401 and fresh.post([]).status_code == 200
    # The secret is never shown again, and is stored encrypted.
    assert issued.json()["secret"] not in client.get("/partners/VNPOST/pickups").text
    with system.db.transaction() as conn:
        stored = conn.execute("SELECT ciphertext FROM partner_secrets").fetchall()
    assert all(issued.json()["secret"].encode() not in bytes(c) for (c,) in stored)


def test_a_partner_over_its_rate_gets_429_with_retry_after(
    world: tuple[TestClient, System, Carrier],
) -> None:
    _, _, carrier = world
    codes = [carrier.post([]).status_code for _ in range(8)]
    assert codes[:5] == [200] * 5 and 429 in codes[5:]
    limited = carrier.post([])
    assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1
    assert limited.json()["type"] == "/problems/rate-limited"


def test_a_parcel_without_carrier_news_for_days_shows_as_stuck(
    world: tuple[TestClient, System, Carrier],
) -> None:
    client, system, carrier = world
    school, _, _ = shipped_loan(client)
    eventually(lambda: len(school.get("/shipments").json()) == 1, what="the shipment in transit")
    (shipment,) = school.get("/shipments").json()
    assert shipment["stuck"] is False and shipment["status"] == "created"
    # The carrier's last news of the parcel is older than the policy's days (5 here).
    days_ago = (utc_now() - timedelta(days=system.settings.stuck_after_days + 1)).isoformat()
    r = carrier.post(
        [
            {
                "carrier_event_id": "old-1",
                "waybill": "EB100000001VN",
                "status": "accepted",
                "at": days_ago,
            }
        ]
    )
    assert r.json()["accepted"] == 1

    def stuck() -> list[dict[str, Any]]:
        return list(school.get("/shipments", params={"stuck_only": "true"}).json())

    eventually(lambda: len(stuck()) == 1, what="the parcel to show as stuck")
    assert stuck()[0]["stuck"] is True and stuck()[0]["waybill"] == "EB100000001VN"
    department = headers_for(client, "department")
    stats = client.get("/statistics/monthly", headers=department).json()
    assert stats["network"]["stuck"] == 1
    assert {r["library"]: r["stuck"] for r in stats["libraries"]}["HNM-TVT"] == 1
    # News from the carrier today: no longer stuck.
    carrier.post(
        [
            {
                "carrier_event_id": "new-1",
                "waybill": "EB100000001VN",
                "status": "in_transit",
                "at": utc_now().isoformat(),
                "facility": "Bưu cục Phủ Lý",
            }
        ]
    )
    eventually(lambda: stuck() == [], what="the parcel to move again")
