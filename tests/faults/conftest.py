"""Fixtures of the fault suite: a Kafka broker of its own for the whole suite, and per
test the production layout on a fresh database, a system in the test process for the
checks, and the recovery times printed at the end of the run."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from composition.bootstrap import System
from tests.faults.layout import ROOT, Broker, Layout, Load

RECOVERY_TIMES: list[tuple[str, float]] = []

pytestmark = pytest.mark.kafka


def folder(name: str) -> Path:
    """A fresh folder of the fault suite's own under .cache/faults (kept after the run, for
    reading the processes' logs; pytest's tmp_path is pruned by other pytest runs)."""
    path = ROOT / ".cache" / "faults" / re.sub(r"[^A-Za-z0-9_.-]+", "-", name)
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


@pytest.fixture(scope="session")
def fault_broker() -> Iterator[Broker]:
    if not os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
        if os.environ.get("LIBSHARE_REQUIRE_KAFKA"):
            pytest.fail("LIBSHARE_REQUIRE_KAFKA is set but KAFKA_BOOTSTRAP_SERVERS is not")
        pytest.skip("the fault suite runs through `make test`, which has Java and Kafka's jars")
    broker = Broker(folder("kafka"))
    broker.start(fresh=True)
    yield broker
    broker.stop()


@pytest.fixture
def broker(fault_broker: Broker) -> Broker:
    """The suite's broker, running (a test that failed half-way may have left it stopped)."""
    if not fault_broker.answers():
        fault_broker.start()
    return fault_broker


@pytest.fixture
def layout(database_url: str, broker: Broker, request: pytest.FixtureRequest) -> Iterator[Layout]:
    deployment = Layout(database_url, broker, folder(request.node.name))
    try:
        deployment.start()
        yield deployment
    finally:
        deployment.stop()


@pytest.fixture
def checker(make_system: Callable[..., System], layout: Layout) -> System:
    """A system in the test process on the same database and topics, for the checks."""
    return make_system(
        kafka_bootstrap_servers=layout.broker.bootstrap, kafka_topic_prefix=layout.prefix
    )


@pytest.fixture
def load(layout: Layout) -> Iterator[Load]:
    clients = Load(layout)
    clients.start()
    yield clients
    clients.finish()


def record_recovery(what: str, seconds: float) -> None:
    RECOVERY_TIMES.append((what, seconds))
    print(f"\n[faults] {what}: recovered in {seconds:.1f} s")


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if RECOVERY_TIMES:
        terminalreporter.section("fault recovery times")
        for what, seconds in RECOVERY_TIMES:
            terminalreporter.write_line(f"{what}: {seconds:.1f} s")
