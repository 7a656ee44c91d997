"""The independent replay (issue 15, item 6): after an end-to-end scenario on the real
broker — the demo network loaded, an interlibrary loan to completion and a cancel, the
read models kept by the projector from Kafka — `libshare audit replay
--from-kafka` rebuilds every read model from the topics alone and finds them equal to
the live ones, row for row; a live row changed behind the projector's back is reported
with the rows that differ."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api.app import create_app
from api.cli import cli
from composition.bootstrap import System
from composition.demo_network import load_demo
from infra.settings import ProjectionSource
from tests.e2e.callers import Librarian, network_admin, seen
from tests.e2e.conftest import DEMO_LIBRARIES, every_event_applied_and_none_parked
from tests.integration.support import eventually

pytestmark = pytest.mark.kafka


@pytest.fixture
def served(
    make_system: Callable[..., System], kafka_bootstrap: str
) -> Iterator[tuple[TestClient, System]]:
    system = make_system(
        kafka_bootstrap_servers=kafka_bootstrap,
        kafka_topic_prefix=f"test-{uuid.uuid4().hex[:10]}",
        kafka_partitions=3,
    )
    load_demo(system)
    system.start_relay()
    system.start_projector(ProjectionSource.KAFKA)
    with TestClient(create_app(system=system)) as client:
        eventually(lambda: len(client.get("/libraries").json()) == DEMO_LIBRARIES, what="demo")
        admin = network_admin(client)  # routing reads the catalogue: the demo in it first
        eventually(
            lambda: all(
                p["lag"] == 0 for p in client.get("/projections", headers=admin).json().values()
            ),
            what="the demo in the read models",
        )
        yield client, system


def replay(system: System, database_url: str, kafka_bootstrap: str) -> tuple[int, str]:
    env = {
        "DATABASE_URL": database_url,
        "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
        "LIBSHARE_KAFKA_TOPIC_PREFIX": system.settings.kafka_topic_prefix,
        "LIBSHARE_LOG_LEVEL": "WARNING",
        "LIBSHARE_LOAD_DEMO": "false",
        "LIBSHARE_RUN_WORKERS": "false",
    }
    result = CliRunner().invoke(cli, ["audit", "replay", "--from-kafka"], env=env)
    return result.exit_code, result.output


def test_the_replay_from_kafka_matches_the_live_read_models_row_for_row(
    served: tuple[TestClient, System], database_url: str, kafka_bootstrap: str
) -> None:
    client, system = served
    school, district = Librarian(client, "HNM-S-ATL"), Librarian(client, "HNM-TL")
    loan = school.request("W-DEMEN")["id"]
    district.ok(loan, "WillSupply")
    district.lend(loan, "W-DEMEN")
    school.ok(loan, "Received")
    school.ok(loan, "ShippedReturn")
    district.ok(loan, "LoanCompleted")
    requester = Librarian(client, "HNM-BL")
    cancelled = requester.request("W-TATDEN")["id"]
    requester.ok(cancelled, "Cancel", reason="bạn đọc đã mua sách")
    Librarian(client, "HNM-KB").ok(cancelled, "CancelResponse", answer="Y")
    seen(requester, cancelled, "Cancelled")
    every_event_applied_and_none_parked(client)

    with system.db.transaction() as conn:
        (events,) = conn.execute("SELECT count(*) FROM libshare_events").fetchone() or (0,)
    code, out = replay(system, database_url, kafka_bootstrap)
    assert code == 0, out
    assert f"{events:,} events replayed into audit_replay" in out
    assert "every read model matches its replay from Kafka, row for row" in out

    # A live row changed behind the projector's back: the replay shows it.
    with system.db.transaction() as conn:
        conn.execute("UPDATE ill_requests SET status = 'Unfilled' WHERE id = %s", (loan,))
    code, out = replay(system, database_url, kafka_bootstrap)
    assert code == 1
    assert "DIFFERENT ill_requests: " in out and "1 only live, 1 only replayed" in out
    assert '"status": "Unfilled"' in out and '"status": "LoanCompleted"' in out
