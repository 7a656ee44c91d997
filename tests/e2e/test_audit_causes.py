"""Who, why, from what (issue 15, item 1): every event records the acting account, role
and library, a correlation id per user action or incoming message, the message that
caused it and the trace id, in its stored metadata and its CloudEvents headers on
Kafka; a request's timeline shows them. Events stored before any of this still load."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from composition.bootstrap import System
from composition.demo_network import load_demo
from infra.log_reader import LogPosition
from infra.settings import ProjectionSource
from tests.e2e.callers import Librarian, auditor
from tests.e2e.conftest import DEMO_LIBRARIES
from tests.integration.kafka_read import read_all
from tests.integration.support import eventually

pytestmark = pytest.mark.kafka

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"


@pytest.fixture
def served(make_system: Callable[..., System], kafka_bootstrap: str) -> Iterator[System]:
    system = make_system(
        kafka_bootstrap_servers=kafka_bootstrap,
        kafka_topic_prefix=f"test-{uuid.uuid4().hex[:10]}",
        kafka_partitions=3,
    )
    load_demo(system)
    system.start_relay()
    system.start_projector(ProjectionSource.KAFKA)
    yield system


def stored_metadata(system: System, request_id: str) -> dict[str, dict[str, Any]]:
    """Each event type of the request -> the metadata stored with its last event."""
    with system.db.transaction() as conn:
        rows = conn.execute(
            "SELECT topic, metadata FROM libshare_events WHERE originator_id = %s "
            "ORDER BY originator_version",
            (uuid.UUID(request_id),),
        ).fetchall()
    return {topic.rsplit(".", 1)[-1]: metadata for topic, metadata in rows}


def test_each_action_names_who_why_and_from_what_in_store_kafka_and_timeline(
    served: System, kafka_bootstrap: str
) -> None:
    with TestClient(create_app(system=served)) as client:
        eventually(lambda: len(client.get("/libraries").json()) == DEMO_LIBRARIES, what="demo")
        school = Librarian(client, "HNM-BL")

        def held() -> bool:  # routing reads the catalogue: the holding must be in it first
            work = client.get("/catalogue/works/W-TATDEN", headers=school.headers).json()
            return any(h["library"] == "HNM-KB" for h in work.get("holdings", []))

        eventually(held, what="HNM-KB's copy of W-TATDEN in the catalogue")
        created = client.post(
            "/requests",
            json={"work": "W-TATDEN", "reader_ref": "BD-0042"},
            headers={
                **school.headers,
                "X-Correlation-ID": "phieu-muon-0001",
                "traceparent": f"00-{TRACE}-00f067aa0ba902b7-01",
            },
        )
        assert created.status_code in (200, 201), created.text
        rid, first_request = created.json()["id"], created.headers["X-Request-ID"]
        cancelled = school.act(rid, "Cancel", reason="bạn đọc đã mua sách")
        assert cancelled.status_code == 200, cancelled.text
        second_request = cancelled.headers["X-Request-ID"]

        stored = stored_metadata(served, rid)
        first, second = stored["Requested"], stored["CancelRequested"]
        assert first["actor"]["account"] == second["actor"]["account"]
        assert first["actor"]["role"] == "librarian" and first["actor"]["library"] == "HNM-BL"
        assert first["correlation_id"] == "phieu-muon-0001"
        assert first["causation_id"] == f"http:{first_request}"
        assert first["trace_id"] == TRACE
        # Another user action: another correlation id, caused by its own HTTP request.
        assert second["correlation_id"] == second_request
        assert second["causation_id"] == f"http:{second_request}"
        assert second.get("trace_id") != TRACE  # its own trace, if any

        # The timeline, as the auditor reads it.
        def timeline() -> list[dict[str, Any]]:
            got = client.get(f"/requests/{rid}", headers=auditor(client)).json()
            return list(got.get("timeline", []))

        eventually(lambda: len(timeline()) == len(stored), what="the events in the timeline")
        by_event = {entry["event"]: entry for entry in timeline()}
        requested, cancel = by_event["Requested"], by_event["CancelRequested"]
        assert requested["actor"]["library"] == "HNM-BL"
        assert requested["cause"]["correlation_id"] == "phieu-muon-0001"
        assert requested["cause"]["causation_id"] == f"http:{first_request}"
        assert requested["cause"]["trace_id"] == TRACE
        assert cancel["cause"]["causation_id"] == f"http:{second_request}"
        assert requested["cause"]["event_id"] != cancel["cause"]["event_id"]

        # The same on Kafka, as CloudEvents extension headers.
        prefix = served.settings.kafka_topic_prefix
        with served.db.transaction() as conn:
            row = conn.execute("SELECT count(*) FROM libshare_events").fetchone()
        total = int(row[0]) if row else 0
        records = read_all(kafka_bootstrap, prefix, expect=total)
        ours = [r for r in records if r.key == rid.encode()]
        headers = [dict(r.headers) for r in sorted(ours, key=lambda r: r.offset)]
        assert headers[0]["ce_correlationid"] == b"phieu-muon-0001"
        assert headers[-1]["ce_correlationid"] == second_request.encode()
        assert headers[0]["ce_causationid"] == f"http:{first_request}".encode()
        assert TRACE.encode() in headers[0]["traceparent"]
        assert b'"library": "HNM-BL"' in headers[0]["ce_actor"]


def test_a_command_from_outside_http_has_a_cause_and_an_old_event_still_loads(
    served: System,
) -> None:
    # The demo loader's commands came through the one way in: each has its own cause.
    with served.db.transaction() as conn:
        rows = conn.execute(
            "SELECT metadata FROM libshare_events ORDER BY notification_id LIMIT 50"
        ).fetchall()
        causes = {row[0]["causation_id"] for row in rows}
        assert all(c.startswith("command:") for c in causes) and len(causes) > 1
        # An event stored before causes were recorded: no metadata at all.
        conn.execute(
            "UPDATE libshare_events SET metadata = NULL WHERE notification_id = "
            "(SELECT min(notification_id) FROM libshare_events)"
        )
    with served.db.connect(autocommit=True) as conn:
        (oldest,) = served.reader.read(conn, LogPosition(), 1)
    assert oldest.actor is None and oldest.correlation_id is None and oldest.causation_id is None
