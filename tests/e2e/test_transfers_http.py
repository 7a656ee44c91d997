"""Transfers and rotating collections end to end over HTTP: the real event store, the demo
network loaded through commands, the relay publishing to the real Kafka broker and the
projector keeping the read models from Kafka, the carrier's signed webhook."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from composition.bootstrap import System
from composition.demo_network import load_demo
from infra.clock import utc_now
from infra.settings import ProjectionSource
from projections.transfers import overdue_rotations
from tests.actors import TESTER
from tests.e2e.callers import Librarian, Network, headers_for, network_admin
from tests.e2e.conftest import DEMO_LIBRARIES, every_event_applied_and_none_parked
from tests.e2e.test_postal_partners import Carrier
from tests.integration.support import eventually

pytestmark = pytest.mark.kafka


@pytest.fixture
def kafka_network(
    make_system: Callable[..., System], kafka_bootstrap: str
) -> Iterator[tuple[TestClient, System, Carrier]]:
    """The demo network whose read models come through the relay and Kafka."""
    system = make_system(
        kafka_bootstrap_servers=kafka_bootstrap,
        kafka_topic_prefix=f"test-{uuid.uuid4().hex[:10]}",
        kafka_partitions=3,
    )
    load_demo(system)
    system.start_relay()
    system.start_projector(ProjectionSource.KAFKA)
    _, secret = system.partners.add_partner_secret(TESTER, "VNPOST")
    with TestClient(create_app(system=system)) as client:
        eventually(
            lambda: len(client.get("/libraries").json()) == DEMO_LIBRARIES,
            what="the demo network",
            timeout=60,
        )
        yield client, system, Carrier(client, "VNPOST", secret)
        every_event_applied_and_none_parked(client)


@pytest.fixture
def network_of(kafka_network: tuple[TestClient, System, Carrier]) -> Network:
    return kafka_network[0], kafka_network[1]


def ok(response: Any, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return dict(response.json())


def problem(response: Any, status: int, kind: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = dict(response.json())
    assert body["type"] == f"/problems/{kind}", body
    return body


class Desk(Librarian):
    """A librarian working on transfers and rotations."""

    def step(self, transfer_id: str, action: str, **params: Any) -> Any:
        return self.post(f"/transfers/{transfer_id}/actions", {"action": action, **params})

    def do(self, transfer_id: str, action: str, **params: Any) -> dict[str, Any]:
        return ok(self.step(transfer_id, action, **params))

    def transfer(self, transfer_id: str, **expect: Any) -> dict[str, Any]:
        """The transfer's detail once the read model shows `expect`."""
        holder: dict[str, Any] = {}

        def check() -> bool:
            r = self.get(f"/transfers/{transfer_id}")
            holder.clear()
            holder.update(r.json() if r.status_code == 200 else {})
            return r.status_code == 200 and all(holder.get(k) == v for k, v in expect.items())

        eventually(check, what=f"transfer {transfer_id} to show {expect}")
        return holder

    def queue(self, **params: Any) -> list[dict[str, Any]]:
        return list(self.get("/transfers", params=params).json())

    def queue_shows(self, transfer_id: str, **expect: Any) -> dict[str, Any]:
        found: dict[str, Any] = {}

        def check() -> bool:
            rows = [r for r in self.queue() if r["id"] == transfer_id]
            found.clear()
            found.update(rows[0] if rows else {})
            return bool(rows) and all(found.get(k) == v for k, v in expect.items())

        eventually(check, what=f"{self.library}'s queue to show {transfer_id} as {expect}")
        return found

    def rotations(self, **params: Any) -> list[dict[str, Any]]:
        return list(self.get("/rotations", params=params).json())

    def copy(self, barcode: str) -> dict[str, Any]:
        return ok(self.get(f"/copies/{barcode}"))


def shipment(waybill: str, copies: list[str]) -> dict[str, Any]:
    return {
        "partner": "VNPOST",
        "waybill": waybill,
        "declared_postage": "30000",
        "parcels": [{"weight_grams": 300 * len(copies), "contents": copies}],
    }


def kieu(n: int) -> str:
    return f"HNM-TVT-W-KIEU-{n}"


def test_a_permanent_transfer_in_two_shipments_with_discrepancies_moves_ownership(
    kafka_network: tuple[TestClient, System, Carrier],
) -> None:
    client, system, carrier = kafka_network
    provincial, district = Desk(client, "HNM-TVT"), Desk(client, "HNM-DT")
    books = [kieu(n) for n in (1, 2, 3, 4)]
    # The receiver proposes; the sender must approve.
    proposed = ok(
        district.post(
            "/transfers",
            {
                "sender": "HNM-TVT",
                "receiver": "HNM-DT",
                "reason": "manual",
                "copies": books,
                "note": "bổ sung kho",
                "client_request_id": "dt-bo-sung-1",
            },
        ),
        201,
    )
    tid = proposed["id"]
    assert proposed["waiting_for"] == ["HNM-TVT"] and proposed["status"] == "proposed"
    row = provincial.queue_shows(tid, needs_my_approval=True)
    assert row["direction"] == "outgoing"
    assert [r["id"] for r in provincial.queue(needs_approval="true")] == [tid]
    assert district.queue_shows(tid)["needs_my_approval"] is False

    provincial.do(tid, "approve")
    provincial.do(tid, "pick", copies=books[:2])
    provincial.do(tid, "pick", copies=books[2:])
    dispatched = provincial.do(
        tid,
        "dispatch",
        shipments=[shipment("EB300000001VN", books[:2]), shipment("EB300000002VN", books[2:])],
    )
    assert dispatched["status"] == "in_transit"
    copy = provincial.copy(kieu(1))
    assert (copy["status"], copy["owner"], copy["requestable"]) == ("in_transit", "HNM-TVT", False)

    # A copy in transit cannot be lent on an interlibrary loan.
    school = Librarian(client, "HNM-S-BH")
    created = school.request("W-KIEU")
    refused = Librarian(client, created["supplier"]).act(created["id"], "Loaned", item_id=kieu(1))
    problem(refused, 409, "illegal-transition")
    assert "in_transit" in refused.json()["state"]

    # The carrier reports both parcels delivered, through its signed webhook.
    delivered = carrier.post(
        [
            {
                "carrier_event_id": f"d-{n}",
                "waybill": waybill,
                "status": "delivered",
                "at": "2026-11-26T10:00:00+07:00",
                "signer": "Nguyễn Thị Hoa",
            }
            for n, waybill in enumerate(("EB300000001VN", "EB300000002VN"))
        ]
    )
    assert ok(delivered)["accepted"] == 2
    detail = district.transfer(tid, delivered=2, shipments=2)
    assert [e["event"] for e in detail["timeline"]].count("ParcelDelivered") == 2

    # Copy by copy: two fine, one damaged, one never arrives; one extra in the box.
    district.do(tid, "receive", copies=books[:2])
    district.do(
        tid,
        "receive",
        damaged=[{"copy": books[2], "note": "hư hỏng: ướt bìa"}],
        extras=["HNM-TVT-W-CHIPHEO-1", "KHONG-RO-1"],  # the second is no registered copy
    )
    closed = district.do(tid, "close")
    assert closed["status"] == "closed" and closed["missing"] == [books[3]]
    detail = district.transfer(tid, status="closed")
    lines = {line["barcode"]: (line["state"], line["note"]) for line in detail["lines"]}
    assert lines == {
        books[0]: ("received", ""),
        books[1]: ("received", ""),
        books[2]: ("damaged", "hư hỏng: ướt bìa"),
        books[3]: ("missing", ""),
        "HNM-TVT-W-CHIPHEO-1": ("extra", ""),
        "KHONG-RO-1": ("extra", ""),
    }
    assert (detail["received"], detail["damaged"], detail["extras"], detail["missing"]) == (
        3,
        1,
        2,
        1,
    )
    assert detail["timeline"][0]["actor"]["library"] == "HNM-DT"
    assert provincial.copy(books[3])["status"] == "missing"

    # Found later at the receiver: it is the receiver's now, as the others are.
    district.do(tid, "found", copy=books[3])
    for barcode in books:
        copy = district.copy(barcode)
        assert (copy["owner"], copy["holder"], copy["status"]) == ("HNM-DT", "HNM-DT", "on_shelf")
    history = district.copy(books[3])["history"]
    assert [e["event"] for e in history] == [
        "Registered",
        "TransferQueued",
        "Picked",
        "Dispatched",
        "MissingInTransit",
        "Found",
    ]
    assert history[1]["actor"]["library"] == "HNM-DT"  # who proposed it
    assert history[2]["actor"]["library"] == "HNM-TVT"  # who picked it
    detail = district.transfer(tid, found=1, missing=0)
    assert {ln["barcode"]: ln["state"] for ln in detail["lines"]}[books[3]] == "found"

    # The handover records, rendered again from the events, match their recorded hashes.
    auditor = headers_for(client, "auditor")
    for stage in ("dispatch", "receipt"):
        pdf = client.get(f"/transfers/{tid}/handover/{stage}.pdf", headers=auditor)
        assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
        assert pdf.content.startswith(b"%PDF")
        assert pdf.headers["x-handover-hash-matches"] == "true"
        recorded = pdf.headers["x-handover-sha256"]
        assert recorded == "sha256:" + hashlib.sha256(pdf.content).hexdigest()
    stranger = Desk(client, "HNM-KB")
    problem(stranger.get(f"/transfers/{tid}/handover/dispatch.pdf"), 404, "not-found")

    # Once delivered in full, the transfer is in neither side's open work.
    assert all(r["id"] != tid for r in district.queue(open_only="true"))
    # It all came through the relay and Kafka.
    assert system.relay is not None and system.relay.relayed > 0
    assert system.runner is not None and system.runner.delivered > 0


def test_a_rotating_collection_sent_partly_lost_extended_and_returned(
    kafka_network: tuple[TestClient, System, Carrier],
) -> None:
    client, system, _ = kafka_network
    home, first, second = (
        Desk(client, "HNM-TVT"),
        Desk(client, "HNM-S-BH"),
        Desk(client, "HNM-S-APL"),
    )
    box = [f"HNM-TVT-W-CHIPHEO-{n}" for n in (1, 2, 3, 4)]
    department = headers_for(client, "department")
    planned = ok(
        home.post(
            "/rotations",
            {
                "name": "Tủ sách luân chuyển số 1",
                "copies": box,
                "stages": [
                    {"library": "HNM-S-BH", "days": 30},
                    {"library": "HNM-S-APL", "days": 20},
                ],
                "client_request_id": "rot-1",
            },
        ),
        201,
    )
    rid = planned["id"]
    assert planned["status"] == "planned"

    def rotation(who: Desk, **expect: Any) -> dict[str, Any]:
        holder: dict[str, Any] = {}

        def check() -> bool:
            r = who.get(f"/rotations/{rid}")
            holder.clear()
            holder.update(r.json() if r.status_code == 200 else {})
            return r.status_code == 200 and all(holder.get(k) == v for k, v in expect.items())

        eventually(check, what=f"rotation {rid} to show {expect}")
        return holder

    def stats() -> dict[str, int]:
        body = client.get("/statistics/rotations", headers=department).json()
        return {r["library"]: r["copies_at_month_end"] for r in body["libraries"]}

    def move(sender: Desk, receiver: Desk, lost: list[str]) -> str:
        """Send the box on: advance, then the transfer's steps over HTTP."""
        moving = ok(home.post(f"/rotations/{rid}/actions", {"action": "advance"}))
        assert moving["status"] == "moving"
        tid = str(moving["transfer_id"])
        # Both queues show the box's transfer, open; the parties other than the box's
        # home (which proposed it) must approve it.
        shown = receiver.queue_shows(tid, status="proposed")
        assert shown["needs_my_approval"] is (receiver.library != "HNM-TVT")
        assert shown["direction"] == "incoming"
        shown = sender.queue_shows(tid)
        assert shown["needs_my_approval"] is (sender.library != "HNM-TVT")
        assert shown["direction"] == "outgoing"
        for party in {sender.library, receiver.library} - {"HNM-TVT"}:
            Desk(client, party).do(tid, "approve")
        carried = [b for b in box if b not in lost_so_far]
        sender.do(tid, "pick", copies=carried)
        sender.do(tid, "dispatch", shipments=[shipment(f"EB40000{len(waybills)}01VN", carried)])
        waybills.append(tid)
        receiver.do(tid, "receive", copies=[b for b in carried if b not in lost])
        closed = receiver.do(tid, "close")
        assert closed["missing"] == lost
        lost_so_far.extend(lost)
        assert receiver.queue_shows(tid, status="closed")["missing"] == len(lost)
        assert all(r["id"] != tid for r in receiver.queue(open_only="true"))
        assert sender.queue_shows(tid, status="closed")["direction"] == "outgoing"
        return tid

    lost_so_far: list[str] = []
    waybills: list[str] = []

    # To the first stage: one copy is lost on the way.
    to_first = move(home, first, [box[0]])
    at_first = rotation(home, status="at_stage", at_library="HNM-S-BH")
    due = date.fromisoformat(at_first["due_date"])
    assert due == utc_now().date() + timedelta(days=30)
    assert at_first["lost"] == [box[0]] and at_first["copies"] == 3 and at_first["overdue"] is False
    for barcode in box[1:]:
        copy = first.copy(barcode)
        assert (copy["status"], copy["holder"], copy["owner"]) == (
            "on_deposit",
            "HNM-S-BH",
            "HNM-TVT",
        )
    assert first.copy(box[0])["status"] == "missing"
    assert [r["id"] for r in first.rotations(side="holding")] == [rid]
    assert [r["id"] for r in home.rotations(side="home")] == [rid]
    eventually(lambda: stats().get("HNM-S-BH") == 3, what="3 copies out at HNM-S-BH")

    # Extended: the stage and its transfer have the new due date.
    extended = ok(
        home.post(
            f"/rotations/{rid}/actions",
            {
                "action": "extend",
                "due_date": (due + timedelta(days=15)).isoformat(),
                "reason": "thi",
            },
        )
    )
    assert extended["due_date"] == (due + timedelta(days=15)).isoformat()
    rotation(first, due_date=(due + timedelta(days=15)).isoformat())
    first.transfer(to_first, due_date=(due + timedelta(days=15)).isoformat())

    # Not overdue today; overdue in both libraries' lists once the clock passes the date.
    assert home.rotations(overdue="true") == [] and first.rotations(overdue="true") == []
    real_clock = system.entry.clock
    system.entry.clock = lambda: real_clock() + timedelta(days=46)
    try:
        assert [r["id"] for r in home.rotations(overdue="true", side="home")] == [rid]
        assert [r["id"] for r in first.rotations(overdue="true", side="holding")] == [rid]
        assert second.rotations(overdue="true") == []
    finally:
        system.entry.clock = real_clock
    with system.db.transaction() as conn:
        later = utc_now().date() + timedelta(days=46)
        assert [r["id"] for r in overdue_rotations(conn, "HNM-TVT", later, "home")] == [
            uuid.UUID(rid)
        ]
        assert [r["id"] for r in overdue_rotations(conn, "HNM-S-BH", later, "holding")] == [
            uuid.UUID(rid)
        ]
        assert overdue_rotations(conn, "HNM-S-BH", utc_now().date(), "holding") == []

    # On to the second stage, then home.
    move(first, second, [])
    rotation(home, status="at_stage", at_library="HNM-S-APL", copies=3)
    eventually(
        lambda: stats().get("HNM-S-APL") == 3 and stats().get("HNM-S-BH", 0) == 0,
        what="the copies out to move from HNM-S-BH to HNM-S-APL",
    )
    assert first.rotations(side="holding") == []
    move(second, home, [box[1]])
    done = rotation(home, status="completed", at_library="HNM-TVT")
    assert done["lost"] == [box[0], box[1]] and done["copies"] == 2
    assert [s["library"] for s in done["stays"]] == ["HNM-S-BH", "HNM-S-APL"]
    assert all(s["left_on"] is not None for s in done["stays"])
    assert [t["reason"] for t in done["transfers"]] == ["rotation", "rotation", "return_home"]
    for barcode in box[2:]:
        copy = home.copy(barcode)
        assert (copy["status"], copy["holder"]) == ("on_shelf", "HNM-TVT")
    eventually(lambda: stats().get("HNM-S-APL", 0) == 0, what="nothing out any more")


def test_errors_are_problem_json_and_a_second_transfer_queues_behind_the_first(
    network_of: Network,
) -> None:
    client, _ = network_of
    provincial, district, kimbang = (
        Desk(client, "HNM-TVT"),
        Desk(client, "HNM-DT"),
        Desk(client, "HNM-KB"),
    )
    book = kieu(5)
    body = {
        "sender": "HNM-TVT",
        "receiver": "HNM-DT",
        "reason": "manual",
        "copies": [book],
        "client_request_id": "once-1",
    }
    first = ok(provincial.post("/transfers", body), 201)
    tid = first["id"]
    # A retry with the same client_request_id returns the first answer, and nothing more.
    again = ok(provincial.post("/transfers", body))
    assert again["id"] == tid and again["replayed"] is True
    problem(
        provincial.post("/transfers", {**body, "copies": [kieu(4)]}), 422, "idempotency-key-reused"
    )

    # Unknown, and not yours: the same 404.
    unknown = "00000000-0000-4000-8000-000000000000"
    missing = problem(kimbang.get(f"/transfers/{unknown}"), 404, "not-found")
    district.transfer(tid)
    hidden = problem(kimbang.get(f"/transfers/{tid}"), 404, "not-found")
    assert hidden["detail"].replace(tid, "X") == missing["detail"].replace(unknown, "X")
    problem(kimbang.step(tid, "approve"), 404, "not-found")

    # The wrong party, a bad action, a step out of order.
    problem(provincial.step(tid, "approve"), 403, "not-party")
    problem(provincial.step(tid, "teleport"), 422, "validation-error")
    problem(provincial.step(tid, "pick", copies=[book]), 409, "illegal-transition")
    approved = district.do(tid, "approve", client_request_id="ok-1")
    assert approved["status"] == "approved"
    assert district.do(tid, "approve", client_request_id="ok-1")["replayed"] is True
    problem(district.step(tid, "pick", copies=[book]), 403, "not-party")
    problem(
        provincial.step(tid, "dispatch", shipments=[shipment("EB500000001VN", [book])]),
        422,
        "invalid-input",
    )

    # A second transfer of the copy (onwards from where the first takes it) queues behind
    # the first: the first goes on, and the second's pick waits for it.
    second = ok(
        kimbang.post(
            "/transfers",
            {"sender": "HNM-DT", "receiver": "HNM-KB", "reason": "manual", "copies": [book]},
        ),
        201,
    )
    sid = second["id"]
    problem(
        kimbang.post(
            "/transfers",
            {"sender": "HNM-TVT", "receiver": "HNM-KB", "reason": "manual", "copies": [book]},
        ),
        422,
        "invalid-input",
    )  # the copy will be at HNM-DT by then, not at HNM-TVT
    district.do(sid, "approve")
    assert provincial.transfer(tid)["status"] == "approved"
    waits = problem(district.step(sid, "pick", copies=[book]), 409, "illegal-transition")
    assert tid in waits["state"]
    assert provincial.copy(book)["transfers"] == [tid, sid]

    provincial.do(tid, "pick", copies=[book])
    provincial.do(tid, "dispatch", shipments=[shipment("EB500000001VN", [book])])
    problem(provincial.step(tid, "cancel", reason="nhầm"), 409, "illegal-transition")
    district.do(tid, "receive", copies=[book])
    district.do(tid, "close")
    assert district.do(sid, "pick", copies=[book])["status"] == "approved"
    assert district.copy(book)["transfers"] == [sid]

    # The network administrator's approval is only asked for large transfers (none here).
    admin = network_admin(client)
    problem(
        client.post(
            f"/transfers/{sid}/network-approval", json={"decision": "approve"}, headers=admin
        ),
        409,
        "illegal-transition",
    )
    assert client.get("/transfers?waiting_for_network=true", headers=admin).json() == []
