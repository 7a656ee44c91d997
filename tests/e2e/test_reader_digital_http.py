"""A reader borrows for themself over HTTP, proved by their card's access key: borrows a
digitised work and reads a page through the viewer link; a second reader finds no copy
free and takes a place; the first returns early, and the second sees the offer waiting
for them (until when) on their shelf and borrows it. The first reader's link is dead;
a wrong access key, another's loan, and an unknown step are refused with their types."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.e2e.callers import Network, api_key_for

WORK = "W-HUONGUOC"  # public domain, one digital copy at HNM-TVT (the demo network)
PROBLEM = "application/problem+json"


@pytest.fixture
def served(serve_network: Callable[..., Network], tmp_path: Path) -> Network:
    return serve_network(digital_pages_dir=tmp_path / "pages")


def card(client: TestClient, desk: dict[str, str], name: str) -> dict[str, str]:
    """A reader registered online at HNM-KB and verified at its desk: their proof."""
    registered = client.post(
        "/readers",
        json={
            "home_library": "HNM-KB",
            "name": name,
            "date_of_birth": "1990-05-01",
            "contact": "0912 345 678",
        },
    ).json()
    ref = registered["reader_ref"]
    activated = client.post(
        f"/readers/{ref}/activation", json={"method": "vneid", "fee_paid": 50_000}, headers=desk
    )
    assert activated.json()["status"] == "active", activated.text
    return {"reader_ref": ref, "access_key": registered["access_key"]}


def problem(response: Any, status: int, slug: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["type"] == f"/problems/{slug}"


def test_a_reader_borrows_holds_and_takes_the_offer_for_themself(served: Network) -> None:
    client, system = served
    desk = {"Authorization": "Bearer " + api_key_for(system, "r-kb", "librarian", library="HNM-KB")}
    an, binh = card(client, desk, "Trần Văn An"), card(client, desk, "Lê Thị Bình")

    def step(proof: dict[str, str], action: str, **extra: str) -> Any:
        return client.post(f"/readers/me/digital/{WORK}/{action}", json={**proof, **extra})

    lent = step(an, "borrow", client_request_id="an-muon-1")
    assert lent.status_code == 201, lent.text
    assert step(an, "borrow", client_request_id="an-muon-1").status_code == 200  # a retry
    link = step(an, "link").json()
    assert client.get(link["url"]).status_code == 200  # a page image

    problem(step(binh, "borrow"), 409, "no-copy-free")
    placed = step(binh, "hold")
    assert placed.status_code == 201 and placed.json()["position"] == 1
    shelf = client.post("/readers/me/digital", json=binh).json()
    assert shelf["holds"][0]["position"] == 1 and shelf["offers"] == []
    problem(step(binh, "return"), 404, "not-found")  # not their loan

    assert step(an, "return").status_code == 200
    assert client.get(link["url"]).status_code in (404, 410)  # dead with the loan
    shelf = client.post("/readers/me/digital", json=binh).json()
    assert [o["work"] for o in shelf["offers"]] == [WORK]
    assert shelf["offers"][0]["offered_until"] is not None
    assert step(binh, "borrow").status_code == 201
    shelf = client.post("/readers/me/digital", json=binh).json()
    assert [ln["work"] for ln in shelf["loans"]] == [WORK] and shelf["holds"] == []
    assert client.post("/readers/me/digital", json=an).json()["loans"] == []

    wrong = client.post("/readers/me/digital", json={**an, "access_key": "x" * 32})
    problem(wrong, 401, "unauthenticated")
    assert step(an, "steal").status_code == 422
