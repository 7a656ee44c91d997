"""Digital lending end to end over HTTP on the demo network: a library administrator
records a work's rights and lendable copies, librarians lend to their readers, put others
on the waitlist (with their place), renew, skip, return, open pages through a viewer
link; every refusal is problem+json with its stable type."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from composition.bootstrap import System
from composition.demo_network import load_demo
from domain.access import DEMO_LOADER
from infra.settings import ProjectionSource
from services.commands import RecordRights, RegisterHolding, RegisterWork, SetLendable
from tests.e2e.callers import Librarian, Network, auditor, headers_for
from tests.e2e.conftest import every_event_applied_and_none_parked
from tests.integration.support import eventually

PROBLEM = "application/problem+json"


@pytest.fixture
def served(serve_network: Callable[..., Network], tmp_path: Path) -> Network:
    return serve_network(digital_pages_dir=tmp_path / "pages")


def problem(response: Any, status: int, slug: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body: dict[str, Any] = response.json()
    assert body["type"] == f"/problems/{slug}", body
    return body


def ok(response: Any, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return dict(response.json())


def test_lend_wait_renew_skip_return_and_read(served: Network) -> None:
    client, _ = served
    kb, dt = Librarian(client, "HNM-KB"), Librarian(client, "HNM-DT")
    admin = headers_for(client, "library_admin", library="HNM-TVT")
    work = "/digital/W-HUONGUOC"

    # The provincial library lends W-HUONGUOC under a licence of one loan at a time.
    ok(
        client.put(
            f"{work}/rights",
            json={
                "basis": "licensed",
                "terms": "Giấy phép số hóa 2026",
                "concurrent_loans": 1,
                "expires_on": "2030-12-31",
            },
            headers=admin,
        )
    )
    problem(
        client.put(f"{work}/rights", json={"basis": "licensed"}, headers=admin),
        422,
        "invalid-input",
    )

    loan = ok(kb.post(f"{work}/loans", {"reader_ref": "BD-1", "client_request_id": "kb-d-1"}), 201)
    again = ok(kb.post(f"{work}/loans", {"reader_ref": "BD-1", "client_request_id": "kb-d-1"}), 200)
    assert again["loan_id"] == loan["loan_id"] and again["replayed"] is True
    problem(dt.post(f"{work}/loans", {"reader_ref": "BD-2"}), 409, "no-copy-free")
    held = ok(dt.post(f"{work}/holds", {"reader_ref": "BD-2"}), 201)
    assert held["position"] == 1
    ok(kb.post(f"{work}/holds", {"reader_ref": "BD-3"}), 201)
    problem(
        kb.post(f"{work}/loans/{loan['loan_id']}/actions", {"action": "renew"}),
        409,
        "renewal-refused",
    )

    # DT sees its reader's place, and only the places of the others.
    def waitlist() -> list[dict[str, Any]]:
        return list(dt.get(work).json()["waitlist"])

    eventually(lambda: len(waitlist()) == 2, what="the waitlist")
    assert waitlist()[0]["reader_ref"] == "BD-2" and waitlist()[1] == {"position": 2}
    assert len(ok(client.get(work, headers=auditor(client)))["waitlist"][1]) > 1

    link = ok(kb.post(f"{work}/loans/{loan['loan_id']}/link", {}), 201)
    page = client.get(link["url"])
    assert page.status_code == 200 and page.headers["content-type"].startswith("image/svg+xml")
    problem(client.get(link["url"].replace("/pages/1", "/pages/99")), 404, "not-found")
    problem(dt.post(f"{work}/loans/{loan['loan_id']}/link", {}), 404, "not-found")  # not DT's

    # The early return frees the copy for BD-2, who skips once; BD-3 gets it.
    ok(kb.post(f"{work}/loans/{loan['loan_id']}/actions", {"action": "return"}))
    problem(client.get(link["url"]), 410, "viewer-link-dead")
    ok(dt.post(f"{work}/holds/BD-2/actions", {"action": "skip"}))
    problem(dt.post(f"{work}/holds/BD-2/actions", {"action": "skip"}), 409, "illegal-transition")
    problem(dt.post(f"{work}/loans", {"reader_ref": "BD-2"}), 409, "no-copy-free")
    third = ok(kb.post(f"{work}/loans", {"reader_ref": "BD-3"}), 201)
    assert third["waiting"] == 1
    # The same reader borrows the same work again only after the cooling-off time.
    ok(kb.post(f"{work}/loans/{third['loan_id']}/actions", {"action": "return"}))
    problem(kb.post(f"{work}/loans", {"reader_ref": "BD-1"}), 409, "cooling-off")
    ok(dt.post(f"{work}/loans", {"reader_ref": "BD-2"}), 201)  # BD-2 was offered it again
    bad = {"count": 1, "backing": ["HNM-TVT-W-KIEU-1"]}
    problem(client.put(f"{work}/lendable", json=bad, headers=admin), 422, "invalid-input")
    ok(client.put(f"{work}/lendable", json={"count": 2}, headers=admin))
    problem(kb.post(f"{work}/loans", {"reader_ref": "BD-4"}), 409, "no-copy-free")  # licence: 1
    ok(client.put(f"{work}/rights", json={"basis": "public_domain"}, headers=admin))
    problem(kb.post(f"{work}/loans", {"reader_ref": "BD-3"}), 409, "cooling-off")
    ok(kb.post(f"{work}/loans", {"reader_ref": "BD-9"}), 201)


def test_rights_decide_and_refusals_are_problems(served: Network) -> None:
    client, system = served
    kb = Librarian(client, "HNM-KB")
    admin = headers_for(client, "library_admin", library="HNM-TVT")
    other_admin = headers_for(client, "library_admin", library="HNM-KB")
    ok(client.put("/digital/W-BANDO-1930/rights", json={"basis": "not_lendable"}, headers=admin))
    problem(kb.post("/digital/W-BANDO-1930/loans", {"reader_ref": "BD-1"}), 409, "not-lendable")
    problem(kb.post("/digital/W-BANDO-1930/holds", {"reader_ref": "BD-1"}), 409, "not-lendable")
    problem(
        client.put(
            "/digital/W-BANDO-1930/rights", json={"basis": "public_domain"}, headers=other_admin
        ),
        403,
        "forbidden",
    )
    problem(kb.post("/digital/W-KIEU/loans", {"reader_ref": "BD-1"}), 404, "not-found")
    problem(client.get("/digital/W-KIEU", headers=kb.headers), 404, "not-found")
    problem(client.get("/viewer/not-a-real-link-token/pages/1"), 410, "viewer-link-dead")
    # A digitised work visible only to the armed forces' libraries is not there for others.
    _digitised(system, "W-QS-SOHOA", visible_to=("armed_forces",))
    every_event_applied_and_none_parked(client)  # acted past the API: it cannot wait for us
    problem(client.get("/digital/W-QS-SOHOA", headers=kb.headers), 404, "not-found")
    problem(kb.post("/digital/W-QS-SOHOA/loans", {"reader_ref": "BD-1"}), 404, "not-found")
    ok(client.get("/digital/W-QS-SOHOA", headers=auditor(client)))
    problem(
        kb.post("/digital/W-THANTICH/loans", {"reader_ref": "BD-1", "reader_type": "x"}),
        422,
        "validation-error",
    )
    # A family deposit lent only to the holding library's readers.
    ok(
        client.put(
            "/digital/W-THANTICH/rights",
            json={
                "basis": "family_deposit",
                "owner": "Dòng họ Trần",
                "consent": True,
                "scope": "holding_library",
            },
            headers=admin,
        )
    )
    problem(kb.post("/digital/W-THANTICH/loans", {"reader_ref": "BD-1"}), 409, "not-lendable")
    tvt = Librarian(client, "HNM-TVT")
    ok(tvt.post("/digital/W-THANTICH/loans", {"reader_ref": "BD-1"}), 201)
    # Caps per reader across the network: three digital loans at most.
    ok(tvt.post("/digital/W-HUONGUOC/loans", {"reader_ref": "BD-1"}), 201)
    for code in ("W-SOHOA-1", "W-SOHOA-2"):
        _digitised(system, code)
    ok(tvt.post("/digital/W-SOHOA-1/loans", {"reader_ref": "BD-1"}), 201)
    problem(tvt.post("/digital/W-SOHOA-2/loans", {"reader_ref": "BD-1"}), 409, "reader-limit")
    ok(tvt.post("/digital/W-SOHOA-2/loans", {"reader_ref": "BD-2"}), 201)


def _digitised(system: System, code: str, visible_to: tuple[str, ...] = ()) -> None:
    act = system.entry.act
    work = RegisterWork(
        code, f"Bản số {code}", "local_studies", digital=True, visible_to=visible_to
    )
    act(DEMO_LOADER, work)
    act(DEMO_LOADER, RegisterHolding(code, "HNM-TVT", 1, 1))
    act(DEMO_LOADER, RecordRights(code, "public_domain", library="HNM-TVT"))
    act(DEMO_LOADER, SetLendable(code, 1))


@pytest.mark.kafka
def test_the_pool_read_model_follows_over_kafka(
    make_system: Callable[..., System], kafka_bootstrap: str, tmp_path: Path
) -> None:
    """The digital events go through the relay and Kafka to the read model (topics of
    their own), and every one is applied, none parked."""
    system = make_system(
        kafka_bootstrap_servers=kafka_bootstrap,
        kafka_topic_prefix=f"test-{uuid.uuid4().hex[:10]}",
        kafka_partitions=3,
        digital_pages_dir=tmp_path / "pages",
    )
    load_demo(system)
    system.start_relay()
    system.start_projector(ProjectionSource.KAFKA)
    with TestClient(create_app(system=system)) as client:
        kb = Librarian(client, "HNM-KB")
        loan = ok(kb.post("/digital/W-HUONGUOC/loans", {"reader_ref": "BD-1"}), 201)
        ok(kb.post("/digital/W-HUONGUOC/holds", {"reader_ref": "BD-2"}), 201)
        ok(kb.post(f"/digital/W-HUONGUOC/loans/{loan['loan_id']}/actions", {"action": "return"}))

        def pool() -> dict[str, Any]:
            return dict(kb.get("/digital/W-HUONGUOC").json())

        eventually(
            lambda: (
                pool().get("active_loans") == 0
                and pool()["waitlist"][0].get("offered_until") is not None
            ),
            what="the pool over Kafka",
            timeout=60,
        )
        every_event_applied_and_none_parked(client)
