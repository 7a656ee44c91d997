"""A reader's card over HTTP: registered online, pending until the desk verifies identity,
valid at another library's desk, refused everywhere once suspended (problem type
card-not-valid), then the reader downloads their data and erases it."""

from __future__ import annotations

from tests.e2e.callers import Network, api_key_for
from tests.integration.support import eventually


def test_a_card_from_online_registration_to_erasure(network: Network) -> None:
    client, system = network
    kb = {"Authorization": "Bearer " + api_key_for(system, "h-kb", "librarian", library="HNM-KB")}
    dt = {"Authorization": "Bearer " + api_key_for(system, "h-dt", "librarian", library="HNM-DT")}
    child = client.post(
        "/readers",
        json={
            "home_library": "HNM-KB",
            "name": "Nguyễn Minh Khang",
            "date_of_birth": "2016-04-30",
            "contact": "0912 000 111",
        },
    )
    assert child.status_code == 201, child.text
    ref = child.json()["reader_ref"]
    assert child.json()["card_qr_svg"].startswith("<svg")

    def queue() -> list[dict[str, object]]:
        answer: list[dict[str, object]] = client.get("/readers?status=pending", headers=kb).json()
        return answer

    eventually(lambda: [c["reader_ref"] for c in queue()] == [ref], what="the desk's queue")
    assert "name" not in queue()[0] and "personal" not in queue()[0]
    refused = client.post(f"/readers/{ref}/activation", json={"method": "vneid"}, headers=kb)
    assert refused.status_code == 422 and "guardian" in refused.json()["detail"]
    consent = {"name": "Nguyễn Thị Hoa", "contact": "0912 000 222"}
    assert client.post(f"/readers/{ref}/consent", json=consent, headers=kb).status_code == 200
    active = client.post(f"/readers/{ref}/activation", json={"method": "guardian"}, headers=kb)
    assert active.json()["status"] == "active"
    assert client.post(f"/readers/{ref}/activation", json={}, headers=dt).status_code == 403

    suspended = client.post(f"/readers/{ref}/suspension", json={"reason": "quá hạn"}, headers=dt)
    assert suspended.json()["status"] == "suspended"
    for desk in (kb, dt):
        r = client.post("/requests", json={"work": "W-KIEU", "reader_ref": ref}, headers=desk)
        assert r.status_code == 409 and r.json()["type"] == "/problems/card-not-valid"

    proof = {"reader_ref": ref, "access_key": child.json()["access_key"]}
    wrong = client.post("/readers/me/data", json={**proof, "access_key": "x" * 32})
    assert wrong.status_code == 401
    mine = client.post("/readers/me/data", json=proof).json()
    assert mine["personal"]["guardian"]["name"] == "Nguyễn Thị Hoa"
    assert (
        client.post("/readers/me/card", json=proof)
        .headers["content-type"]
        .startswith("image/svg+xml")
    )
    erased = client.post("/readers/me/erasure", json=proof)
    assert erased.status_code == 200 and erased.json()["status"] == "erased"
    shown = client.get(f"/readers/{ref}", headers=kb).json()
    assert shown["name"] == "(đã xoá)" and shown["personal"] is None
