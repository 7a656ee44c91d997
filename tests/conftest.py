"""Test fixtures: a real PostgreSQL (embedded, or DATABASE_URL) with a fresh database per
test, and the real Kafka broker from KAFKA_BOOTSTRAP_SERVERS (started by `make test`)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from composition.bootstrap import System, bootstrap
from infra.database import EmbeddedPostgres, with_dbname
from infra.logs import configure_logging
from infra.settings import Settings

ROOT = Path(__file__).resolve().parent.parent

configure_logging("WARNING", json=True)


@pytest.fixture(scope="session")
def pg_server_url() -> Iterator[str]:
    url = os.environ.get("DATABASE_URL")
    if url:
        yield url
        return
    # The fault suite, run beside the rest by infra/run-suites.sh, has a server of its own;
    # so has each process of a parallel run (pytest-xdist): the log's readers wait for
    # every older transaction on their server to end (the xmin horizon, ADR 0003), and a
    # test that holds one open on purpose must not stall the others.
    name = os.environ.get("LIBSHARE_TEST_PG_DIR", "test")
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    server = EmbeddedPostgres(ROOT / ".data" / (f"{name}-{worker}" if worker else name))
    # Our own throwaway server: infra/run-suites.sh turns fsync off for the main suite (a
    # database created, copied or committed to waits for no disk: ADR 0035); the fault
    # suite's server keeps it on, as production does.
    fsync = "off" if os.environ.get("LIBSHARE_TEST_FSYNC") == "off" else "on"
    with psycopg.connect(server.url, autocommit=True) as conn:
        conn.execute(f"ALTER SYSTEM SET fsync = {fsync}")
        conn.execute("SELECT pg_reload_conf()")
    yield server.url


@pytest.fixture
def database_url(pg_server_url: str) -> Iterator[str]:
    """A fresh, empty database for one test, dropped afterwards."""
    name = f"t_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(pg_server_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield with_dbname(pg_server_url, name)
    with psycopg.connect(pg_server_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def kafka_bootstrap() -> str:
    servers = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if not servers:
        if os.environ.get("LIBSHARE_REQUIRE_KAFKA"):
            pytest.fail("LIBSHARE_REQUIRE_KAFKA is set but KAFKA_BOOTSTRAP_SERVERS is not")
        pytest.skip("no Kafka broker: run through `make test`, which starts one")
    return servers


@pytest.fixture
def make_system(database_url: str) -> Iterator[Callable[..., System]]:
    """Build systems through the composition root with test settings; closed afterwards."""
    built: list[System] = []

    def make(**overrides: Any) -> System:
        values: dict[str, Any] = {
            "database_url": database_url,
            "kafka_bootstrap_servers": None,
            "load_demo": False,
            "run_workers": False,
            "db_pool_size": 4,
        }
        values.update(overrides)
        system = bootstrap(Settings(**values), configure=False)
        built.append(system)
        return system

    yield make
    for system in reversed(built):
        system.close()


@pytest.fixture
def system(make_system: Callable[..., System]) -> System:
    return make_system()


@pytest.fixture
def kafka_system(make_system: Callable[..., System], kafka_bootstrap: str) -> System:
    """A system on the real broker, with topics of its own (a unique prefix per test)."""
    return make_system(
        kafka_bootstrap_servers=kafka_bootstrap,
        kafka_topic_prefix=f"test-{uuid.uuid4().hex[:10]}",
        kafka_partitions=3,
    )
