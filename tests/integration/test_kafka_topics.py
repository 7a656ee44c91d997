"""The topics the relay creates keep every event for ever (ADR 0004), read back from the
broker with kafka-python's admin client: set on each topic itself, not inherited from the
broker (our broker script also sets log.retention.ms=-1, a production cluster may not)."""

from __future__ import annotations

from typing import Any

import pytest
from kafka.admin import ConfigResource, ConfigResourceType, KafkaAdminClient

from composition.bootstrap import System
from infra.kafka_log import all_topics
from tests.actors import TESTER
from tests.integration.support import eventually
from tests.integration.test_kafka_relay import relay_all

pytestmark = pytest.mark.kafka


def test_the_relay_creates_topics_kept_for_ever_and_never_compacted(kafka_system: System) -> None:
    system = kafka_system
    system.catalogue.register_library(
        TESTER, "HNM-TVT", "Thư viện tỉnh Hà Nam", "provincial", "Phủ Lý"
    )
    assert relay_all(system) == 1  # the relay creates its topics on setup, then publishes
    topics = all_topics(system.settings.kafka_topic_prefix)
    admin = KafkaAdminClient(bootstrap_servers=system.settings.kafka_bootstrap_servers)
    described: dict[str, Any] = {}

    def described_all() -> bool:  # a topic just created may be described without them yet
        described.update(
            admin.describe_configs(
                [ConfigResource(ConfigResourceType.TOPIC, t) for t in topics],
                config_filter="all",
            )["topic"]
        )
        return set(described) == set(topics) and all(
            "retention.ms" in c and "cleanup.policy" in c for c in described.values()
        )

    try:
        eventually(described_all, what="the topics' configurations")
    finally:
        admin.close()

    assert set(described) == set(topics)
    for topic, configs in described.items():
        for key, value in (("retention.ms", "-1"), ("cleanup.policy", "delete")):
            assert configs[key]["value"] == value, (topic, key, configs[key])
            assert configs[key]["config_source"] == "DYNAMIC_TOPIC_CONFIG", (topic, key)
