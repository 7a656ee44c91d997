"""The broker goes away while commands keep arriving: commands still succeed, the relay
retries (logged), and once the broker is back everything arrives, in order."""

from __future__ import annotations

import os
import subprocess
from collections import defaultdict
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from composition.bootstrap import System
from tests.actors import TESTER
from tests.integration.kafka_read import read_all
from tests.integration.support import eventually, register_many

pytestmark = pytest.mark.kafka
KAFKA_SH = Path(__file__).resolve().parents[2] / "infra" / "kafka" / "kafka.sh"


def broker(action: str) -> None:
    env = {**os.environ, "KAFKA_FRESH": "0"}  # restart keeps the broker's data
    subprocess.run([str(KAFKA_SH), action], env=env, check=True, capture_output=True)


@pytest.mark.skipif(
    "KAFKA_DATA" not in os.environ, reason="needs the broker that infra/with-kafka.sh started"
)
def test_commands_succeed_while_the_broker_is_down_and_all_events_arrive_after(
    kafka_system: System,
) -> None:
    system = kafka_system
    relay = system.start_relay()
    first = register_many(system, 5, prefix="A")
    eventually(lambda: relay.relayed == 5, what="the first events relayed")

    broker("stop")
    try:
        second = register_many(system, 5, prefix="B")  # the write side does not need Kafka
        system.catalogue.rename_library(TESTER, first[0], "Đổi tên khi mất kết nối", "kiểm thử")
        with capture_logs() as logs:
            eventually(lambda: relay.retries > 0, timeout=60, what="the relay to retry")
        assert any(e["event"] == "relay retrying" for e in logs)
    finally:
        broker("start")
    eventually(lambda: relay.relayed >= 11, timeout=60, what="the relay to catch up")

    records = read_all(
        system.settings.kafka_bootstrap_servers or "", system.settings.kafka_topic_prefix, 11
    )
    versions: dict[str, list[int]] = defaultdict(list)
    for r in sorted(records, key=lambda r: (r.partition, r.offset)):
        versions[r.key.decode()].append(int(dict(r.headers)["ce_aggregateversion"]))
    assert len({(k, v) for k, vs in versions.items() for v in vs}) == 11  # none missing
    for key, seq in versions.items():
        distinct = list(dict.fromkeys(seq))  # republished copies may repeat, never reorder
        assert distinct == sorted(distinct), key
    assert len(first) + len(second) == len(versions)
