"""The API over HTTP, with the real store and the embedded projector running."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
import structlog
from fastapi.testclient import TestClient

from api.app import create_app
from composition.bootstrap import PROJECTIONS, System
from infra.logs import configure_logging
from tests.actors import TESTER
from tests.e2e.callers import network_admin
from tests.integration.support import eventually


@pytest.fixture
def client(system: System) -> Iterator[TestClient]:
    system.start_projector()
    with TestClient(create_app(system=system)) as c:
        c.headers.update(network_admin(c))  # the network administrator, unless a test says
        yield c


def test_a_registered_library_appears_in_the_list(client: TestClient) -> None:
    r = client.post(
        "/libraries",
        json={
            "code": "HNM-S-NEW",
            "name": "Thư viện Trường mới",
            "kind": "school",
            "locality": "Lý Nhân",
        },
    )
    assert r.status_code == 201, r.text
    assert r.headers["location"] == "/libraries/HNM-S-NEW"
    eventually(lambda: len(client.get("/libraries").json()) == 1, what="the read model")
    (lib,) = client.get("/libraries").json()
    assert (lib["code"], lib["name"], lib["kind"]) == ("HNM-S-NEW", "Thư viện Trường mới", "school")
    assert client.get("/libraries/hnm-s-new").json()["locality"] == "Lý Nhân"


def test_registering_twice_is_idempotent_and_other_data_is_a_conflict(client: TestClient) -> None:
    body = {"code": "HNM-X", "name": "Thư viện X", "kind": "school", "locality": "Phủ Lý"}
    assert client.post("/libraries", json=body).status_code == 201
    again = client.post("/libraries", json=body)
    assert again.status_code == 200 and again.json()["created"] is False
    clash = client.post("/libraries", json={**body, "name": "Thư viện Y"})
    assert clash.status_code == 409
    assert clash.headers["content-type"] == "application/problem+json"
    assert clash.json()["type"] == "/problems/already-exists"


def test_bad_input_gets_problem_json_with_a_stable_type(client: TestClient) -> None:
    r = client.post(
        "/libraries", json={"code": "bad code", "name": "x", "kind": "school", "locality": "y"}
    )
    assert r.status_code == 422
    assert r.json()["type"] == "/problems/invalid-input" and "library code" in r.json()["detail"]
    r = client.post("/libraries", json={"code": "HNM-Z", "kind": "museum"})
    assert r.status_code == 422 and r.json()["type"] == "/problems/validation-error"
    assert {tuple(e["location"]) for e in r.json()["errors"]} >= {
        ("body", "name"),
        ("body", "kind"),
    }
    r = client.get("/libraries/HNM-NOPE")
    assert r.status_code == 404 and r.json()["type"] == "/problems/not-found"
    assert client.get("/problems/invalid-input").json()["status"] == 422


def test_a_renamed_library_shows_its_new_name(client: TestClient) -> None:
    client.post(
        "/libraries",
        json={
            "code": "HNM-PL",
            "name": "Thư viện thành phố Phủ Lý",
            "kind": "district",
            "locality": "Phủ Lý",
        },
    )
    act = {"act": "Nghị quyết 202/2025/QH15", "act_date": "2025-06-12", "effective": "2025-07-01"}
    r = client.post(
        "/libraries/HNM-PL/rename",
        json={"name": "Thư viện Phủ Lý", "reason": "Sáp nhập tỉnh 2025", "act": act},
    )
    assert r.status_code == 200, r.text
    eventually(
        lambda: (
            client.get("/libraries/HNM-PL").status_code == 200
            and client.get("/libraries/HNM-PL").json()["name"] == "Thư viện Phủ Lý"
        ),
        what="the new name",
    )


def test_health_reports_the_database_and_projection_lag(system: System) -> None:
    # The read side is set up but its projector is not running (no `client` fixture here).
    system.make_runner()
    for code in ("HNM-A", "HNM-B", "HNM-C"):
        system.catalogue.register_library(TESTER, code, f"Thư viện {code}", "school", "Phủ Lý")
    with TestClient(create_app(system=system)) as client:
        body = client.get("/health").json()
        assert body["status"] == "ok" and body["database"]["ok"] is True
        assert body["kafka"] == {"configured": False}
        assert body["projections"]["libraries"]["lag"] == 3
        assert body["projections"]["libraries"]["seen"] == 0
        lag = 'libshare_projection_lag_events{projection="libraries"}'
        assert f"{lag} 3" in client.get("/metrics").text.splitlines()

        system.start_projector()
        eventually(
            lambda: client.get("/health").json()["projections"]["libraries"]["lag"] == 0,
            what="the projector to catch up",
        )
        assert client.get("/health").json()["projections"]["libraries"]["seen"] == 3
        assert f"{lag} 0" in client.get("/metrics").text.splitlines()


def test_responses_carry_request_and_correlation_ids(client: TestClient) -> None:
    r = client.get("/libraries", headers={"X-Correlation-ID": "corr-1"})
    assert r.headers["x-correlation-id"] == "corr-1" and r.headers["x-request-id"]


def test_the_web_ui_is_vietnamese_first_with_english_available(client: TestClient) -> None:
    client.post(
        "/libraries",
        json={
            "code": "HNM-TVT",
            "name": "Thư viện tỉnh Hà Nam",
            "kind": "provincial",
            "locality": "Phủ Lý",
        },
    )
    eventually(lambda: "Thư viện tỉnh Hà Nam" in client.get("/").text, what="the UI")
    vi = client.get("/").text
    assert "Các thư viện trong mạng lưới" in vi and "Thư viện tỉnh</td>" in vi
    en = client.get("/?lang=en").text
    assert "Libraries of the network" in en and "Provincial library" in en


def test_projections_and_their_parked_events_are_visible(client: TestClient) -> None:
    body = client.get("/projections").json()
    assert body["libraries"]["tables"] == [
        "libraries",
        "lending_policies",
        "library_codes",
        "library_changes",
    ]
    assert set(body) == set(PROJECTIONS)
    assert "libshare.library.Registered.v1" in body["libraries"]["handles"]
    assert client.get("/projections/libraries/parked").json() == []
    assert client.post("/projections/libraries/parked/replay").json() == {
        "replayed": 0,
        "failed": 0,
    }
    assert client.get("/projections/nope/parked").status_code == 404


def test_log_lines_carry_the_request_correlation_account_and_library(
    client: TestClient,
) -> None:
    capture = structlog.testing.LogCapture()
    structlog.configure(
        processors=[structlog.contextvars.merge_contextvars, capture],
        wrapper_class=structlog.make_filtering_bound_logger(logging.INFO),
    )
    try:
        r = client.get("/me", headers={"X-Correlation-ID": "corr-7", "X-Request-ID": "req-7"})
    finally:
        configure_logging("WARNING", json=True)
    assert r.status_code == 200
    (line,) = [e for e in capture.entries if e["event"] == "request" and e["path"] == "/me"]
    assert (line["request_id"], line["correlation_id"]) == ("req-7", "corr-7")
    assert line["account"] == "t-network-admin" and line["status"] == 200
