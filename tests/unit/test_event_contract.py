"""The events' public contract: names, versions, the envelope, and docs/events.md."""

import uuid
from pathlib import Path

from eventsourcing.application import Application

from domain.contract import event_types
from domain.library import Library
from infra.envelope import event_id, from_kafka, from_stored, kafka_headers
from infra.events_doc import render_events_doc

ROOT = Path(__file__).resolve().parents[2]


def test_every_event_type_has_a_versioned_cloudevents_name() -> None:
    names = [e.name for e in event_types()]
    assert "libshare.library.Registered.v1" in names
    assert all(n.startswith("libshare.") and ".v" in n for n in names)
    assert len(names) == len(set(names))


def test_payload_holds_the_event_fields_and_not_the_envelope_fields() -> None:
    (registered,) = [e for e in event_types() if e.name == "libshare.library.Registered.v1"]
    assert registered.fields() == {"code": "str", "name": "str", "kind": "str", "locality": "str"}


def test_an_event_survives_the_trip_through_kafka_headers_unchanged() -> None:
    app: Application = Application()  # in-memory mapper; no I/O
    lib = Library.register("HNM-TL", "Thư viện huyện Thanh Liêm", "district", "Thanh Liêm")
    (event,) = lib.collect_events()
    stored = app.mapper.to_stored_event(event)
    env = from_stored(
        app.mapper,
        stored,
        notification_id=7,
        xid=99,
        metadata={
            "traceparent": "00-" + "a" * 32 + "-" + "b" * 16 + "-01",
            "actor": {"account": "x"},
        },
    )
    assert env.data == {
        "code": "HNM-TL",
        "name": "Thư viện huyện Thanh Liêm",
        "kind": "district",
        "locality": "Thanh Liêm",
    }
    assert env.id == event_id(lib.id, 1)
    headers = kafka_headers(env)
    names = {k for k, _ in headers}
    assert {
        "ce_specversion",
        "ce_id",
        "ce_type",
        "ce_source",
        "ce_time",
        "ce_subject",
        "traceparent",
    } <= names
    assert from_kafka(headers, env.payload) == env


def test_an_events_id_is_the_uuid5_of_its_aggregate_and_version() -> None:
    """ce_id stays stable across releases: a republished event keeps its id."""
    for n in range(200):
        aggregate = uuid.uuid4()
        assert event_id(aggregate, n) == str(uuid.uuid5(aggregate, str(n)))


def test_docs_events_md_is_generated_from_the_current_code() -> None:
    committed = (ROOT / "docs" / "events.md").read_text(encoding="utf-8")
    assert committed == render_events_doc(), "run `make events-doc` and commit docs/events.md"
