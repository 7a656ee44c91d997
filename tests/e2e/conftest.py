"""The network the end-to-end tests call: the demo network loaded through commands, the
embedded projector keeping the read models, the app served in process. After each test,
whatever it did, every event has been applied to every read model and none was parked.

The demo network is loaded through its commands and projected once per test process, into
a template database; a test that serves it starts from a copy of that database (CREATE
DATABASE … TEMPLATE: the same events, positions and read models, in a fraction of a
second, instead of some 200 commands and their projection again)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from psycopg.conninfo import conninfo_to_dict

from api.app import create_app
from api.log_health import log_health
from composition.bootstrap import PROJECTIONS, System, bootstrap
from composition.demo_network import load_demo, load_demo_pages
from infra.database import with_dbname
from infra.settings import Settings
from tests.e2e.callers import Network, auditor
from tests.integration.support import eventually

DEMO_LIBRARIES = 16

# Settings under which a copy of the template is what loading the demo would give: they
# change nothing the load writes to the database. Any other setting loads it again.
COPY_ALLOWS = frozenset(
    {
        "token_ttl_seconds",
        "login_max_failures",
        "login_window_seconds",
        "digital_pages_dir",  # the pages are files: written for the copy (load_demo_pages)
        "webhook_burst",
        "webhook_rate_per_second",
    }
)


@pytest.fixture(scope="session")
def demo_template(pg_server_url: str) -> Iterator[str]:
    """A database holding the demo network loaded and projected, as `network` serves it."""
    name = f"demo_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_server_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    settings = Settings(
        database_url=with_dbname(pg_server_url, name),
        kafka_bootstrap_servers=None,
        load_demo=False,
        run_workers=False,
        db_pool_size=4,
    )
    system = bootstrap(settings, configure=False)
    try:
        load_demo(system)
        system.start_projector()
        eventually(lambda: all_projected(system), what="the demo network's projection")
    finally:
        system.close()
    with psycopg.connect(pg_server_url, autocommit=True) as conn:  # a copy needs it unused
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,)
        )
    yield name
    with psycopg.connect(pg_server_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def all_projected(system: System) -> bool:
    report = log_health(system.db, kafka_configured=False, kafka_ok=None).projections
    return set(report) == set(PROJECTIONS) and all(
        p["lag"] == 0 and p["parked"] == 0 for p in report.values()
    )


def become_copy(server_url: str, database_url: str, template: str) -> bool:
    """Replace the test's fresh, unused database by a copy of `template`; False (nothing
    done) when something is connected to it already."""
    name = conninfo_to_dict(database_url)["dbname"]
    with psycopg.connect(server_url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = %s", (name,)
        ).fetchone()
        if row is None or row[0]:
            return False
        conn.execute(f'DROP DATABASE "{name}"')
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    return True


@pytest.fixture
def serve_network(
    make_system: Callable[..., System],
    pg_server_url: str,
    database_url: str,
    demo_template: str,
) -> Iterator[Callable[..., Network]]:
    """Serve the demo network with these settings (the composition root's, as in
    `make_system`); a test that needs other settings than the defaults calls this."""
    with ExitStack() as served:

        def serve(**settings: Any) -> Network:
            copied = set(settings) <= COPY_ALLOWS and become_copy(
                pg_server_url, database_url, demo_template
            )
            system = make_system(**settings)
            if copied:
                load_demo_pages(system)
            else:
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
