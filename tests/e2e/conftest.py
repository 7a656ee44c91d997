"""The network the end-to-end tests call: the demo network loaded through commands, the
embedded projector keeping the read models, the app served in process. After each test,
whatever it did, every event has been applied to every read model and none was parked."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from composition.bootstrap import PROJECTIONS, System
from composition.demo_network import load_demo
from tests.e2e.callers import Network, auditor
from tests.integration.support import eventually

DEMO_LIBRARIES = 16


@pytest.fixture
def serve_network(make_system: Callable[..., System]) -> Iterator[Callable[..., Network]]:
    """Serve the demo network with these settings (the composition root's, as in
    `make_system`); a test that needs other settings than the defaults calls this."""
    with ExitStack() as served:

        def serve(**settings: Any) -> Network:
            system = make_system(**settings)
            load_demo(system)
            system.start_projector()
            client = served.enter_context(TestClient(create_app(system=system)))
            eventually(
                lambda: len(client.get("/libraries").json()) == DEMO_LIBRARIES,
                what="the demo network",
            )
            served.callback(every_event_applied_and_none_parked, client)
            return client, system

        yield serve


@pytest.fixture
def network(serve_network: Callable[..., Network]) -> Network:
    """The demo network, served with the test settings."""
    return serve_network()


def every_event_applied_and_none_parked(client: TestClient) -> None:
    def projections() -> dict[str, Any]:
        return dict(client.get("/projections", headers=auditor(client)).json())

    eventually(
        lambda: all(p["lag"] == 0 for p in projections().values()),
        what="the projections to catch up",
    )
    assert {n: p["parked"] for n, p in projections().items()} == dict.fromkeys(PROJECTIONS, 0)
