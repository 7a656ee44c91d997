"""Client request ids on the real event store: an exact retry gets the first result back
and records nothing; the same id reused for another command (another request, action or
arguments) is refused with `idempotency-key-reused` and does nothing."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.problems import install
from composition.bootstrap import System
from composition.demo_network import load_demo
from domain.errors import IdempotencyKeyReused
from tests.actors import TESTER
from tests.integration.support import eventually

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


@pytest.fixture
def network(system: System) -> System:
    return with_demo(system)


def with_demo(system: System) -> System:
    load_demo(system)
    system.start_projector()
    eventually(lambda: bool(system.candidate_finder("W-CHIPHEO")), what="the catalogue")
    return system


def ask(system: System, work: str = "W-CHIPHEO", **kw: Any) -> dict[str, Any]:
    return system.requests.request_item(
        TESTER, requester="HNM-KB", work=work, reader_ref="BD-0042", now=NOW, **kw
    )


def act(system: System, rid: str, action: str, **kw: Any) -> dict[str, Any]:
    params = kw.pop("params", {})
    return system.requests.take_action(
        TESTER, UUID(rid), library=kw.pop("library"), action=action, params=params, now=NOW, **kw
    )


def versions(system: System, *request_ids: str) -> list[int]:
    return [system.requests.get_request(UUID(rid)).version for rid in request_ids]


def test_an_exact_retry_of_an_action_returns_the_first_result(network: System) -> None:
    created = ask(network)
    supplier = created["supplier"]
    first = act(network, created["id"], "WillSupply", library=supplier, client_request_id="k1")
    again = act(network, created["id"], "WillSupply", library=supplier, client_request_id="k1")
    assert again == {**first, "replayed": True}
    assert versions(network, created["id"]) == [first["version"]]


def test_a_client_id_reused_for_another_action_is_refused_and_does_nothing(
    network: System,
) -> None:
    created = ask(network)
    supplier = created["supplier"]
    act(network, created["id"], "ExpectToSupply", library=supplier, client_request_id="k1")
    before = versions(network, created["id"])
    with pytest.raises(IdempotencyKeyReused, match="'k1'"):
        act(network, created["id"], "WillSupply", library=supplier, client_request_id="k1")
    assert versions(network, created["id"]) == before
    assert network.requests.get_request(UUID(created["id"])).status.value == "ExpectToSupply"


def test_a_client_id_reused_on_another_request_is_refused_and_does_nothing(
    network: System,
) -> None:
    one, other = ask(network), ask(network)
    assert one["supplier"] == other["supplier"]
    supplier = one["supplier"]
    act(network, one["id"], "WillSupply", library=supplier, client_request_id="k1")
    before = versions(network, other["id"])
    with pytest.raises(IdempotencyKeyReused):
        act(network, other["id"], "WillSupply", library=supplier, client_request_id="k1")
    assert versions(network, other["id"]) == before


def test_a_client_id_reused_with_other_arguments_is_refused(network: System) -> None:
    created = ask(network)
    rid, requester = created["id"], "HNM-KB"
    act(
        network, rid, "Notification", library=requester, params={"note": "a"}, client_request_id="n"
    )
    with pytest.raises(IdempotencyKeyReused):
        act(
            network,
            rid,
            "Notification",
            library=requester,
            params={"note": "b"},
            client_request_id="n",
        )
    notes = [n["note"] for n in network.requests.get_request(UUID(rid)).notes]
    assert notes == ["a"]


def test_the_same_client_id_may_be_used_by_another_library(network: System) -> None:
    created = ask(network)
    rid, supplier = created["id"], created["supplier"]
    act(network, rid, "Notification", library="HNM-KB", params={"note": "a"}, client_request_id="x")
    result = act(
        network, rid, "Notification", library=supplier, params={"note": "a"}, client_request_id="x"
    )
    assert "replayed" not in result


def test_creating_a_request_exact_retry_replays_but_another_work_is_refused(
    network: System,
) -> None:
    first = ask(network, client_request_id="kb-1")
    assert ask(network, client_request_id="kb-1") == {**first, "replayed": True}
    with pytest.raises(IdempotencyKeyReused):
        ask(network, work="W-KIEU", client_request_id="kb-1")
    with pytest.raises(IdempotencyKeyReused):  # a create's id is not an action's id either
        act(
            network,
            first["id"],
            "Notification",
            library="HNM-KB",
            params={"note": "a"},
            client_request_id="kb-1",
        )
    assert versions(network, first["id"]) == [first["version"]]


def test_keys_are_checked_when_the_event_store_runs_without_db_functions(
    make_system: Callable[..., System],
) -> None:
    system = with_demo(make_system(event_store_db_functions=False))
    created = ask(system, client_request_id="kb-1")
    assert ask(system, client_request_id="kb-1") == {**created, "replayed": True}
    with pytest.raises(IdempotencyKeyReused):
        ask(system, work="W-KIEU", client_request_id="kb-1")


def test_a_reused_client_id_is_a_422_problem() -> None:
    app = FastAPI()
    install(app)

    @app.get("/boom")
    def boom() -> None:
        raise IdempotencyKeyReused("client_request_id 'k1' was already used")

    r = TestClient(app).get("/boom")
    assert r.status_code == 422
    assert r.json()["type"] == "/problems/idempotency-key-reused"
    assert TestClient(app).get("/problems/idempotency-key-reused").json()["status"] == 422
