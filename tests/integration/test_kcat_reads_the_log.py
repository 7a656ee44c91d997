"""A client we did not write (Debian's kcat) reads our topics and finds the CloudEvents
headers, the W3C trace context of the command, the key and the JSON payload."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

import pytest
from opentelemetry import trace
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags

from composition.bootstrap import System
from infra.envelope import event_id
from infra.kafka_log import topic_for
from tests.actors import ACT_2025, TESTER
from tests.integration.test_kafka_relay import relay_all

pytestmark = pytest.mark.kafka

RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")


@contextmanager
def traced(trace_id: int) -> Iterator[None]:
    """Run a command inside a caller's trace, as the API does for a traced HTTP request."""
    caller = SpanContext(
        trace_id=trace_id, span_id=0x00F067AA0BA902B7, is_remote=True, trace_flags=TraceFlags(1)
    )
    with trace.use_span(NonRecordingSpan(caller)):
        yield


def traceparent_of(trace_id: int) -> re.Pattern[str]:
    """The W3C traceparent of a span in that trace (the command's own span id, sampled)."""
    return re.compile(rf"^00-{trace_id:032x}-[0-9a-f]{{16}}-01$")


@pytest.mark.skipif(
    not shutil.which("kcat"),
    reason="kcat is not installed (make test installs it with apt-get where it can)",
)
def test_kcat_reads_a_topic_with_cloudevents_headers(kafka_system: System) -> None:
    system = kafka_system
    registering, renaming = 0x4BF92F3577B34DA6A3CE929D0E0E4736, 0x0AF7651916CD43DD8448EB211C80319C
    with traced(registering):
        lib, _ = system.catalogue.register_library(
            TESTER, "HNM-TVT", "Thư viện tỉnh Hà Nam", "provincial", "Phủ Lý"
        )
    with traced(renaming):
        system.reorganisation.rename(
            TESTER, "HNM-TVT", "Thư viện tỉnh Ninh Bình (cơ sở Hà Nam)", "sáp nhập 2025", ACT_2025
        )
    renamed = system.catalogue.get_library("HNM-TVT")
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
    assert headers["ce_id"] == event_id(lib.id, 1)
    assert headers["ce_source"] == "urn:libshare:network"
    assert RFC3339.match(headers["ce_time"]), headers["ce_time"]
    assert datetime.fromisoformat(headers["ce_time"]) == lib.created_on  # the event's time
    assert traceparent_of(registering).match(headers["traceparent"]), headers["traceparent"]
    assert "ce_notificationid" in headers
    assert json.loads(first["payload"])["name"] == "Thư viện tỉnh Hà Nam"
    second_headers = dict(zip(second["headers"][::2], second["headers"][1::2], strict=True))
    assert second_headers["ce_type"] == "libshare.library.Renamed.v2"
    assert second_headers["ce_aggregateversion"] == "2"
    assert second_headers["ce_source"] == "urn:libshare:network"
    assert datetime.fromisoformat(second_headers["ce_time"]) == renamed.modified_on
    assert traceparent_of(renaming).match(second_headers["traceparent"])
