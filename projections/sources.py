"""The two sources of the one projection runner: the event store's notification log
(embedded mode) and the Kafka topics (distributed mode)."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Sequence
from typing import Any

import psycopg
import structlog
from kafka import ConsumerRebalanceListener, KafkaConsumer, TopicPartition
from kafka.errors import KafkaError

from infra.database import Database
from infra.envelope import from_kafka
from infra.event_store import EVENTS_CHANNEL
from infra.kafka_log import all_topics, broker_answers, create_topics, new_consumer
from infra.log_reader import HELD_BACK_RETRY, LogPosition, NotificationLogReader
from projections.bookkeeping import LOG_STREAM, NOWHERE, Delivery, Position
from projections.runner import ProjectionRunner

log = structlog.get_logger("libshare.projections")

__all__ = ["KafkaClientStuck", "KafkaSource", "LogSource"]

OFFSET_COMMIT_INTERVAL = 1.0  # seconds between advisory offset commits to Kafka


class LogSource:
    """Reads the notification log with the gap-aware reader; woken by LISTEN/NOTIFY."""

    name = "log"
    kafka_ok: bool | None = None  # the log source does not use Kafka

    def __init__(self, db: Database, reader: NotificationLogReader, batch_size: int = 2000):
        self.db = db
        self.reader = reader
        self.batch_size = batch_size
        self.position = LogPosition()
        self._conn: psycopg.Connection[Any] | None = None

    def start(self, runner: ProjectionRunner) -> None:
        stored = runner.stored_positions()
        starts = [LogPosition(*pos.get(LOG_STREAM, NOWHERE).log) for pos in stored.values()]
        self.position = min(starts, default=LogPosition())
        self.close()
        self._conn = self.db.connect(autocommit=True)
        self._conn.execute(f'LISTEN "{EVENTS_CHANNEL}"')

    def poll(self, timeout: float) -> list[Delivery]:
        assert self._conn is not None, "start() first"
        batch = self._read()
        if not batch:
            # Sleep until a writer commits (NOTIFY) or the timeout passes; events held back
            # by an older transaction still running (ADR 0003) are looked at again soon.
            if self.reader.held_back(self._conn, self.position):
                timeout = min(timeout, HELD_BACK_RETRY)
            for _ in self._conn.notifies(timeout=timeout, stop_after=1):
                pass
            batch = self._read()
        return batch

    def _read(self) -> list[Delivery]:
        assert self._conn is not None
        events = self.reader.read(self._conn, self.position, self.batch_size)
        if events:
            last = events[-1]
            self.position = LogPosition(last.xid, last.notification_id)
        return [Delivery(e, LOG_STREAM) for e in events]

    def committed(self, deliveries: Sequence[Delivery]) -> None:
        pass

    def failed(self, exc: Exception) -> None:
        self.close()  # `start` connects again

    def close(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):
                self._conn.close()
            self._conn = None


class _SeekToStored(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, source: KafkaSource) -> None:
        self.source = source

    def on_partitions_revoked(self, revoked: Any) -> None:
        log.info("kafka partitions revoked", partitions=_names(revoked))

    def on_partitions_assigned(self, assigned: Any) -> None:
        log.info("kafka partitions assigned", partitions=_names(assigned))
        self.source.seek_to_stored(assigned)


def _next_offset(position: Position | None) -> int:
    """The offset to read next after `position` (0: the partition's first record)."""
    if position is None or position.kafka_offset is None:
        return 0
    return position.kafka_offset + 1


def _names(partitions: Any) -> list[str]:
    return sorted(f"{tp.topic}:{tp.partition}" for tp in partitions)


class KafkaClientStuck(Exception):
    """The consumer has made no progress for a while although the broker answers."""


class KafkaSource:
    """A Kafka consumer group over our topics. Offsets come from the positions stored with
    the read models (committed to Kafka too, but only so that tools can show lag).

    The consumer is made by `start`, so a projector that starts while the broker is away
    waits in the runner's back-off instead of failing. Every `stuck_after` seconds
    without a record, the source asks whether it should have had some: nothing assigned,
    or records on the broker beyond its position; if so, and the broker answers a fresh
    client, it raises KafkaClientStuck and the runner makes it a new consumer (ADR 0019)."""

    name = "kafka"

    def __init__(
        self,
        bootstrap: str,
        prefix: str,
        group_id: str,
        client_id: str,
        stuck_after: float = 20.0,
        partitions: int = 6,
        *,
        commit_interval: float = OFFSET_COMMIT_INTERVAL,
    ):
        self.bootstrap = bootstrap
        self.partitions = partitions
        self.prefix = prefix
        self.topics = all_topics(prefix)
        self.group_id = group_id
        self.client_id = client_id
        self.stuck_after = stuck_after
        self.commit_interval = commit_interval  # seconds between advisory offset commits
        self.consumer: KafkaConsumer | None = None
        self.kafka_ok: bool | None = None
        self.clients_rebuilt = 0
        self._runner: ProjectionRunner | None = None
        self._applied: dict[str, int] = {}  # per stream: the last offset applied, not told
        self._last_commit = 0.0
        self._last_records = time.monotonic()

    def start(self, runner: ProjectionRunner) -> None:
        self._runner = runner
        if self.consumer is None:
            # The topics, if the relay has not made them yet (idempotent): a group that
            # subscribed to missing topics would wait minutes for its next metadata refresh.
            create_topics(self.bootstrap, self.prefix, self.partitions, self.client_id)
            self.consumer = new_consumer(self.bootstrap, self.group_id, self.client_id)
            self._last_records = time.monotonic()
        if self.consumer.subscription():
            self.seek_to_stored(self.consumer.assignment())
        else:
            # Metadata first: a group joined before it knows the topics' partitions gets
            # nothing assigned until a later rebalance, seconds away.
            for topic in self.topics:
                self.consumer.partitions_for_topic(topic)
            self.consumer.subscribe(self.topics, listener=_SeekToStored(self))
        self.kafka_ok = True

    def seek_to_stored(self, partitions: Any) -> None:
        """Go on from the positions stored with the read models: the earliest next offset
        over all projections (later ones skip what they have), or the first record.
        Read again at every assignment: a partition that comes from another projector in
        the group goes on from what that one applied, and every batch this one read has
        been applied (the runner polls only after a batch commits)."""
        assert self._runner is not None and self.consumer is not None, "start() first"
        stored = self._runner.stored_positions()
        for tp in partitions:
            stream = f"{tp.topic}:{tp.partition}"
            offset = min((_next_offset(pos.get(stream)) for pos in stored.values()), default=0)
            if offset == 0:
                self.consumer.seek_to_beginning(tp)
            else:
                self.consumer.seek(tp, offset)

    def poll(self, timeout: float) -> list[Delivery]:
        assert self.consumer is not None, "start() first"
        try:
            records = self.consumer.poll(timeout_ms=int(timeout * 1000))
        except Exception:
            self.kafka_ok = False
            raise
        out: list[Delivery] = []
        for tp, messages in records.items():
            stream = f"{tp.topic}:{tp.partition}"
            for m in messages:
                try:
                    event = from_kafka(m.headers, m.value)
                except Exception as exc:  # not one of ours: the relay writes every header
                    log.error(
                        "record skipped: not a libshare event",
                        stream=stream,
                        offset=m.offset,
                        error=repr(exc),
                    )
                    continue
                out.append(Delivery(event, stream, m.offset))
        now = time.monotonic()
        if out:
            self._last_records = now
            self.kafka_ok = True
        elif now - self._last_records >= self.stuck_after:
            self._last_records = now  # look again only after another stuck_after
            self._check_progress()
        return out

    def _check_progress(self) -> None:
        """No record for stuck_after seconds: fine if every assigned partition is read to
        its end; stuck if nothing is assigned or records wait beyond our position."""
        assert self.consumer is not None
        assigned = self.consumer.assignment()
        behind = "nothing assigned" if not assigned else None
        if assigned:
            try:
                ends = self.consumer.end_offsets(list(assigned), timeout_ms=5000)
                waiting = [
                    tp for tp in assigned if ends.get(tp, 0) > self.consumer.position(tp, 5000)
                ]
            except Exception as exc:  # the client cannot even ask: as stuck as can be
                behind = f"cannot read its offsets: {exc!r}"
            else:
                self.kafka_ok = True
                if waiting:
                    behind = f"records wait on {', '.join(_names(waiting))}"
        if behind is None:
            return
        self.kafka_ok = False
        if broker_answers(self.bootstrap):
            self.clients_rebuilt += 1
            log.error("projector's Kafka client is stuck; rebuilding it", reason=behind)
            raise KafkaClientStuck(behind)
        log.warning("projector waits for Kafka", reason=behind)

    def committed(self, deliveries: Sequence[Delivery]) -> None:
        """Tell Kafka the offsets applied, at most once per `commit_interval`: they
        are advisory (our positions live in PostgreSQL, with the read models), and each
        commit is a request to the group coordinator, costly at one batch per event."""
        for d in deliveries:
            if d.kafka_offset is not None and d.kafka_offset >= self._applied.get(d.stream, -1):
                self._applied[d.stream] = d.kafka_offset
        now = time.monotonic()
        if now - self._last_commit >= self.commit_interval:
            self._last_commit = now
            self._commit_offsets()

    def _commit_offsets(self, timeout_ms: int | None = None) -> None:
        """Commit the offsets applied since the last commit: in the background, or, with
        a time-out (on closing), waiting for the coordinator's answer."""
        from kafka.structs import OffsetAndMetadata

        offsets = {}
        for stream, offset in self._applied.items():
            topic, partition = stream.rsplit(":", 1)
            offsets[TopicPartition(topic, int(partition))] = OffsetAndMetadata(offset + 1, "", -1)
        self._applied = {}
        if not offsets:
            return
        if self.consumer is None:
            return
        try:
            if timeout_ms is None:
                self.consumer.commit_async(offsets)
            else:
                self.consumer.commit(offsets, timeout_ms=timeout_ms)
        except Exception as exc:  # advisory only: our positions live in PostgreSQL
            log.debug("kafka offset commit failed", error=repr(exc))

    def failed(self, exc: Exception) -> None:
        """A Kafka failure (or a stuck client) costs the consumer; any other failure (the
        database, a bug) keeps it, and `start` seeks the stored positions again."""
        if isinstance(exc, (KafkaError, KafkaClientStuck, OSError)):
            self.reset()

    def reset(self) -> None:
        """Leave the group and drop the consumer; `start` makes a new one. Offsets not yet
        told to Kafka are dropped with it (they are advisory; ours live in PostgreSQL)."""
        consumer, self.consumer = self.consumer, None
        self._applied = {}
        self.kafka_ok = False
        if consumer is not None:
            with contextlib.suppress(Exception):
                consumer.close(autocommit=False, timeout_ms=2000)

    def close(self) -> None:
        if self.consumer is None:
            return
        with contextlib.suppress(Exception):
            self._commit_offsets(timeout_ms=2000)  # what the last interval applied
        with contextlib.suppress(Exception):
            self.consumer.close(autocommit=False, timeout_ms=5000)
        self.consumer = None
