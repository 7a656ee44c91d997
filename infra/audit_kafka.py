"""`libshare audit verify --from-kafka` (ADR 0026): the history checked from the topics
alone, no database. Three kinds of topic: the checkpoints (signed notes, each with the
hashes of the leaves it adds), the leaves (each logged event's bytes as stored, keyed by
leaf index) and the events the relay published (CloudEvents). Checked: every note's
signature; the leaves' hashes against the notes' and the trees' roots against the
signed roots; every event record against the leaf of its (aggregate, version) — its
payload must be the stored state decoded as the relay decodes it, its actor and causes
the stored metadata's — and each aggregate's versions in increasing order in its
partition; no logged event missing from the topics, no event on them that is in no
leaf. The first place that differs is named (topic, partition, offset, leaf)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any
from uuid import UUID

from eventsourcing.persistence import (
    DatetimeAsISO,
    DecimalAsStr,
    JSONTranscoder,
    Mapper,
    StoredEvent,
    UUIDAsHex,
)
from kafka import KafkaConsumer, TopicPartition

from infra.audit_store import parse_leaf_data
from infra.audit_topics import Published, checkpoints_topic, leaves_topic
from infra.audit_verify import VerifyReport
from infra.envelope import from_kafka, from_stored
from infra.kafka_log import all_topics
from infra.merkle import Frontier, leaf_hash
from infra.network_app import DateAsISO
from infra.signed_note import NoteError, open_note

Records = dict[tuple[str, int], list[Any]]  # (topic, partition) -> records by offset


def read_topics(bootstrap: str, topics: list[str], timeout: float = 60.0) -> Records:
    """Every record of these topics, from the first offset to the end as it is now."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    try:
        parts = [
            TopicPartition(t, p)
            for t in topics
            for p in sorted(consumer.partitions_for_topic(t) or [])
        ]
        consumer.assign(parts)
        consumer.seek_to_beginning(*parts)
        ends = consumer.end_offsets(parts)
        found: Records = {(tp.topic, tp.partition): [] for tp in parts}
        deadline = time.monotonic() + timeout
        while any(consumer.position(tp) < ends[tp] for tp in parts):
            if time.monotonic() > deadline:
                raise TimeoutError("the topics were not read to their end in time")
            for tp, batch in consumer.poll(timeout_ms=500, max_records=10_000).items():
                found[(tp.topic, tp.partition)].extend(batch)
        return found
    finally:
        consumer.close()


def _mapper() -> Mapper[UUID]:
    """The relay's decoding of stored events, with no database (no reader keys: personal
    data stays sealed, as on the read side)."""
    transcoder = JSONTranscoder()
    for transcoding in (UUIDAsHex(), DecimalAsStr(), DatetimeAsISO(), DateAsISO()):
        transcoder.register(transcoding)
    return Mapper(transcoder)


def verify_kafka(
    bootstrap: str,
    prefix: str,
    vkey: str,
    *,
    trusted: list[str] | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> VerifyReport:
    report = VerifyReport()
    started = time.perf_counter()
    cp_topic, leaf_topic = checkpoints_topic(prefix), leaves_topic(prefix)
    records = read_topics(bootstrap, [cp_topic, leaf_topic, *all_topics(prefix)])
    report.failure = _check(records, cp_topic, leaf_topic, vkey, trusted or [], report)
    report.seconds = time.perf_counter() - started
    if on_progress is not None:
        on_progress(report.events, report.events)
    return report


def _check(
    records: Records,
    cp_topic: str,
    leaf_topic: str,
    vkey: str,
    trusted: list[str],
    report: VerifyReport,
) -> str | None:
    # 1. The checkpoints: signed, in order, each adding the leaves after the one before.
    expected: list[bytes] = []  # the leaf hashes the signed checkpoints commit to
    roots: dict[int, bytes] = {}
    for r in records.get((cp_topic, 0), []):
        published = Published.decode(r.value)
        try:
            cp = open_note(published.note, vkey)
        except NoteError as exc:
            return f"{cp_topic} offset {r.offset}: {exc}"
        if cp.size in roots:
            if roots[cp.size] != cp.root:
                return f"{cp_topic} offset {r.offset}: two roots for tree size {cp.size}"
            continue
        if published.old_size != len(expected) or cp.size != published.old_size + len(
            published.leaves
        ):
            return f"{cp_topic} offset {r.offset}: checkpoint {cp.size} does not follow on"
        expected.extend(published.leaves)
        roots[cp.size] = cp.root
    for note in trusted:
        try:
            cp = open_note(note, vkey)
        except NoteError as exc:
            return f"the trusted checkpoint: {exc}"
        if roots.setdefault(cp.size, cp.root) != cp.root:
            return f"checkpoint at size {cp.size}: the topic's differs from the trusted one"
    frontier = Frontier()
    for h in expected:
        frontier.append(h)
        if frontier.size in roots and frontier.root() != roots[frontier.size]:
            return f"checkpoint at size {frontier.size}: its leaves do not give its signed root"
    report.checkpoints = len(roots)
    # 2. The leaves: each one's bytes give the hash its checkpoint signed.
    stored: dict[int, bytes] = {}
    for r in records.get((leaf_topic, 0), []):
        index = int(r.key)
        if stored.setdefault(index, r.value) != r.value:
            return f"{leaf_topic} offset {r.offset}: two different events for leaf {index}"
    by_event: dict[tuple[str, int], int] = {}
    for index, h in enumerate(expected):
        data = stored.get(index)
        if data is None:
            return f"leaf {index}: its event's bytes are not on {leaf_topic}"
        if leaf_hash(data) != h:
            return (
                f"leaf {index}: the bytes on {leaf_topic} ({_named(data)}) do not give the "
                "leaf hash the checkpoint signed"
            )
        oid, version, _, _, _ = parse_leaf_data(data)
        by_event[(oid, version)] = index
    report.logged = len(expected)
    # 3. The events: each is its leaf's event as the relay publishes it, in order.
    mapper = _mapper()
    seen: set[int] = set()
    unlogged: list[tuple[tuple[int, int], str]] = []
    reach = (0, 0)  # the furthest (xid, notification id) of a logged event on the topics
    for (topic, partition), batch in sorted(records.items()):
        if topic in (cp_topic, leaf_topic):
            continue
        versions: dict[str, set[int]] = {}
        for r in batch:
            env = from_kafka(r.headers, r.value)
            where = f"{topic} partition {partition} offset {r.offset}"
            oid = str(env.aggregate_id)
            had = versions.setdefault(oid, set())
            # A copy (the relay republishes after a crash) repeats a version; a version
            # seen for the first time after a later one is out of order.
            if env.version not in had and had and env.version < max(had):
                return (
                    f"{where}: aggregate {oid} version {env.version} comes after version {max(had)}"
                )
            had.add(env.version)
            logged = by_event.get((oid, env.version))
            if logged is None:
                position = (env.xid, env.notification_id)
                unlogged.append((position, f"{where}: aggregate {oid} version {env.version}"))
                continue
            failure = _matches(env, r.value, stored[logged], mapper)
            if failure:
                return f"leaf {logged}: {where}: {failure}"
            reach = max(reach, (env.xid, env.notification_id))
            if logged not in seen:
                seen.add(logged)
                report.events += 1
    # The relay may be behind the log: logged events after the last one on the topics
    # are not relayed yet; one missing before it was taken away.
    furthest = max(seen, default=-1)
    missing = next((i for i in range(furthest) if i not in seen), None)
    if furthest + 1 < len(expected):
        report.notes.append(f"{len(expected) - furthest - 1} logged events are not relayed yet")
    if missing is not None:
        oid, version, _, _, _ = parse_leaf_data(stored[missing])
        return (
            f"leaf {missing}: aggregate {oid} version {version} is logged but on no event "
            "topic: it was deleted from the topic"
        )
    # An event among logged ones in the log's order, yet in no leaf, was slipped in.
    inserted = sorted(u for u in unlogged if u[0] < reach)
    if inserted:
        return f"{inserted[0][1]} is among the logged events but in no leaf: it was inserted"
    if unlogged:
        report.notes.append(f"{len(unlogged)} events on the topics are not in the log yet")
    return None


def _named(data: bytes) -> str:
    try:
        oid, version, _, _, _ = parse_leaf_data(data)
    except ValueError:
        return "not the fields of an event"
    return f"aggregate {oid} version {version}"


def _matches(env: Any, value: bytes, data: bytes, mapper: Mapper[UUID]) -> str | None:
    oid, version, topic, state, meta = parse_leaf_data(data)
    stored = StoredEvent(
        originator_id=UUID(oid), originator_version=version, topic=topic, state=state
    )
    metadata = json.loads(meta) if meta else None
    expected = from_stored(
        mapper, stored, notification_id=env.notification_id, xid=env.xid, metadata=metadata
    )
    if expected.payload != value:
        return f"the payload of aggregate {oid} version {version} differs from the event as stored"
    if (expected.type, expected.actor, expected.correlation_id, expected.causation_id) != (
        env.type,
        env.actor,
        env.correlation_id,
        env.causation_id,
    ):
        return f"the headers of aggregate {oid} version {version} differ from the event as stored"
    return None
