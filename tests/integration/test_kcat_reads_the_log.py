"""A client we did not write (Debian's kcat) reads our topics and finds the CloudEvents
headers, the key and the JSON payload."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from infra.kafka_log import topic_for
from tests.integration.test_kafka_relay import relay_all
from workers.bootstrap import System

pytestmark = pytest.mark.kafka


@pytest.mark.skipif(
    not shutil.which("kcat"),
    reason="kcat is not installed (make test installs it with apt-get where it can)",
)
def test_kcat_reads_a_topic_with_cloudevents_headers(kafka_system: System) -> None:
    system = kafka_system
    lib, _ = system.app.register_library("HNM-TVT", "Thư viện tỉnh Hà Nam", "provincial", "Phủ Lý")
    system.app.rename_library("HNM-TVT", "Thư viện tỉnh Ninh Bình (cơ sở Hà Nam)", "sáp nhập 2025")
    assert relay_all(system) == 2
    topic = topic_for(system.settings.kafka_topic_prefix, "library")
    out = subprocess.run(
        [
            "kcat",
            "-C",
            "-b",
            system.settings.kafka_bootstrap_servers or "",
            "-t",
            topic,
            "-o",
            "beginning",
            "-e",
            "-q",
            "-J",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    messages = [json.loads(line) for line in out.splitlines() if line.strip()]
    assert len(messages) == 2
    first, second = messages
    headers = dict(zip(first["headers"][::2], first["headers"][1::2], strict=True))
    assert headers["ce_specversion"] == "1.0"
    assert headers["ce_type"] == "libshare.library.Registered.v1"
    assert headers["ce_subject"] == str(lib.id) == first["key"]
    assert headers["ce_aggregateversion"] == "1"
    assert {"ce_id", "ce_source", "ce_time", "ce_notificationid"} <= headers.keys()
    assert json.loads(first["payload"])["name"] == "Thư viện tỉnh Hà Nam"
    second_headers = dict(zip(second["headers"][::2], second["headers"][1::2], strict=True))
    assert second_headers["ce_type"] == "libshare.library.Renamed.v1"
    assert second_headers["ce_aggregateversion"] == "2"
