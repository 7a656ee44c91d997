"""The relay: follows the event store's notification log with the gap-aware reader and
publishes every event to its Kafka topic, in order per aggregate (key = aggregate id,
idempotent producer), then stores the relayed position. A crash between publishing and
storing republishes that batch; consumers drop the copies by (aggregate id, version)."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import structlog
from kafka import KafkaProducer
from opentelemetry import trace
from tenacity import (
    RetryCallState,
    RetryError,
    Retrying,
    retry_if_exception_type,
    stop_when_event_set,
    wait_exponential_jitter,
)

from infra.database import Database
from infra.event_store import EVENTS_CHANNEL
from infra.heartbeats import Heartbeat
from infra.heartbeats import ensure_table as ensure_heartbeats
from infra.kafka_log import FLUSH_TIMEOUT_S, broker_answers, create_topics
from infra.log_reader import HELD_BACK_RETRY, LogPosition, NotificationLogReader
from infra.relay_records import Outgoing, RelayRecords, position_after
from infra.tracing import context_from_traceparent, tracer

log = structlog.get_logger("libshare.relay")
_tracer = tracer("libshare.relay")

RELAY_DDL = """
CREATE TABLE IF NOT EXISTS relay_positions (
    relay text PRIMARY KEY,
    xid bigint NOT NULL DEFAULT 0,
    notification_id bigint NOT NULL DEFAULT 0,
    relayed bigint NOT NULL DEFAULT 0,
    updated_at timestamptz NOT NULL DEFAULT now()
);
"""


class Relay:
    def __init__(
        self,
        db: Database,
        reader: NotificationLogReader,
        make_producer: Callable[[], KafkaProducer],
        *,
        bootstrap: str,
        topic_prefix: str,
        partitions: int,
        client_id: str,
        name: str = "kafka",
        batch_size: int = 5000,
        stuck_after: float = 20.0,
        heartbeat: Heartbeat | None = None,
        batches_ahead: int = 20,
    ) -> None:
        self.db = db
        self.reader = reader  # its follower's wait (held_back); the batches are read by:
        # the log read straight into Kafka records, header values ready from SQL (ADR 0034)
        self.records = RelayRecords(reader.mapper, topic_prefix, reader.table)
        self.make_producer = make_producer
        self.bootstrap = bootstrap
        self.prefix = topic_prefix
        self.partitions = partitions
        self.client_id = client_id
        self.name = name
        self.batch_size = batch_size
        # Full batches read ahead per relay_once (each sent while the one before it is
        # acknowledged): bounds one call's work, so heartbeats and `stop` are seen.
        self.batches_ahead = batches_ahead
        self.producer: KafkaProducer | None = None
        self.relayed = 0
        self.retries = 0
        self.position = LogPosition()
        self.stuck_after = stuck_after
        self.heartbeat = heartbeat
        self.clients_rebuilt = 0  # producers thrown away because they made no progress
        self.kafka_ok: bool | None = None  # the last publish's outcome (None: none lately)
        self._failing_since: float | None = None
        self._topics_ready = False
        self._publish_failed = False  # the failures since the last progress were Kafka's
        self._conn: psycopg.Connection[Any] | None = None

    def setup(self) -> None:
        with self.db.transaction() as conn:
            conn.execute("SELECT pg_advisory_xact_lock(hashtext('libshare-relay-setup'))")
            conn.execute(RELAY_DDL)
            conn.execute(
                "INSERT INTO relay_positions (relay) VALUES (%s) ON CONFLICT DO NOTHING",
                (self.name,),
            )
        ensure_heartbeats(self.db)
        try:  # now if Kafka answers, so that consumers find the topics; else before publishing
            self._ensure_topics()
        except Exception as exc:
            log.warning("kafka not reachable; topics are created once it is", error=repr(exc))

    def _ensure_topics(self) -> None:
        if not self._topics_ready:
            create_topics(self.bootstrap, self.prefix, self.partitions, self.client_id)
            self._topics_ready = True

    def acquire(self) -> None:
        """Open the relay's own connection, become the only relay of this name (a second
        process waits here as a standby), listen for commits and load the stored position."""
        self.release()
        conn = self.db.connect(autocommit=True)
        try:
            conn.execute("SELECT pg_advisory_lock(hashtext(%s))", (f"libshare-relay:{self.name}",))
            # A lost position (crash before the WAL flush) only republishes: consumers drop
            # the copies. So the position's commits do not wait for the flush (ADR 0012).
            conn.execute("SET synchronous_commit TO off")
            conn.execute(f'LISTEN "{EVENTS_CHANNEL}"')
            row = conn.execute(
                "SELECT xid, notification_id FROM relay_positions WHERE relay = %s", (self.name,)
            ).fetchone()
        except BaseException:
            conn.close()  # and the session's lock with it
            raise
        self.position = LogPosition(*row) if row else LogPosition()
        self._conn = conn

    def release(self) -> None:
        if self._conn is not None:
            self._conn.close()  # ends the session: the advisory lock goes with it
            self._conn = None

    def read_batch(self) -> list[Outgoing]:
        assert self._conn is not None, "acquire() first"
        return self.records.read(self._conn, self.position, self.batch_size)

    def publish(self, events: list[Outgoing]) -> None:
        """Send a batch and wait until the broker has acknowledged every event."""
        self._acknowledged(self._send(events), flush=True)

    def _send(self, events: list[Outgoing]) -> list[Any]:
        """Hand a batch to the producer; its futures resolve when the broker acks."""
        if self.producer is None:
            self._ensure_topics()  # once per process; retried by the relay's loop
            self.producer = self.make_producer()
        with _tracer.start_as_current_span("relay batch") as span:
            span.set_attribute("libshare.batch_size", len(events))
            futures = []
            send = self.producer.send
            for ev in events:
                if ev.traceparent is None:  # no trace to join: no span of its own
                    futures.append(send(ev.topic, key=ev.key, value=ev.value, headers=ev.headers))
                    continue
                ctx: Any = context_from_traceparent(ev.traceparent)
                with _tracer.start_as_current_span(
                    f"publish {ev.type}", context=ctx, kind=trace.SpanKind.PRODUCER
                ):
                    futures.append(send(ev.topic, key=ev.key, value=ev.value, headers=ev.headers))
            return futures

    def _acknowledged(self, futures: list[Any], *, flush: bool) -> None:
        """Wait for every future; raise the first send's error. `flush` sends what the
        producer still lingers on at once (nothing else follows to fill its batches)."""
        assert self.producer is not None
        if flush:
            # Bounded: a producer whose I/O thread has lost its way would otherwise hold
            # the relay here for ever (a flush without a time-out never returns).
            self.producer.flush(timeout=FLUSH_TIMEOUT_S)
        for f in futures:
            f.get(timeout=FLUSH_TIMEOUT_S)  # raises the send's error, if any

    def commit(self, events: list[Outgoing]) -> None:
        """Store the position after `events` (one autocommit statement)."""
        assert self._conn is not None
        last = events[-1]
        self._conn.execute(
            "UPDATE relay_positions SET xid = %s, notification_id = %s, "
            "relayed = relayed + %s, updated_at = now() WHERE relay = %s",
            (last.xid, last.notification_id, len(events), self.name),
        )
        self.position = LogPosition(last.xid, last.notification_id)
        self.relayed += len(events)

    def relay_once(self) -> int:
        """Relay what the log holds now, a batch at a time, and return how many events
        were relayed: each batch is read, sent, acknowledged, and then its position is
        stored. While one full batch's acks are awaited, the next batch is read and sent
        (at most two batches in flight): reads and acks overlap the sends. Order per
        aggregate holds across batches as it does within one: one partition per key, and
        the idempotent producer keeps a partition's order on retries (ADR 0034). A
        failure stores nothing more: the next attempt starts from the last stored
        position. No transaction is held open while Kafka is slow or away."""
        if self._conn is None or self._conn.closed:
            self.acquire()
        events = self.read_batch()
        if not events:
            self._progressed(published=False)
            return 0
        relayed = 0
        with self._publishing():
            futures = self._send(events)
        for _ in range(self.batches_ahead):
            if len(events) < self.batch_size:
                break  # the log was drained when read: nothing to read ahead
            assert self._conn is not None
            following = self.records.read(self._conn, position_after(events), self.batch_size)
            if not following:
                break
            with self._publishing():
                following_futures = self._send(following)
                self._acknowledged(futures, flush=False)
            self.commit(events)
            relayed += len(events)
            self._progressed(published=True)
            events, futures = following, following_futures
        with self._publishing():
            self._acknowledged(futures, flush=True)
        self.commit(events)
        self._progressed(published=True)
        return relayed + len(events)

    @contextlib.contextmanager
    def _publishing(self) -> Iterator[None]:
        """A step that talks to Kafka: its failure is Kafka's, and the producer goes."""
        try:
            yield
        except Exception:
            self.kafka_ok = False
            self._publish_failed = True
            self._drop_producer()
            raise

    def _progressed(self, *, published: bool) -> None:
        self._failing_since = None
        self._publish_failed = False
        if published:
            self.kafka_ok = True
        elif self.kafka_ok is False:
            self.kafka_ok = None  # nothing to publish: not known, and nothing waits on it
        self._beat()

    def _beat(self) -> None:
        if self.heartbeat is not None:
            self.heartbeat.beat(
                progress=self.relayed,
                kafka_ok=self.kafka_ok,
                relay=self.name,
                retries=self.retries,
                clients_rebuilt=self.clients_rebuilt,
            )

    def close(self) -> None:
        """Give up the connection (and with it the lock) and the producer."""
        self.release()
        self._drop_producer()

    def _drop_producer(self) -> None:
        if self.producer is not None:
            with contextlib.suppress(Exception):
                self.producer.close(timeout=1)
            self.producer = None

    def run(self, stop: threading.Event, idle_timeout: float = 1.0) -> None:
        """Relay until `stop` is set; sleep on LISTEN when there is nothing to relay.
        Kafka and PostgreSQL failures are retried for ever with bounded back-off."""
        retrying = Retrying(
            retry=retry_if_exception_type(Exception),
            # At most 3 s between attempts: the relay is back within seconds of Kafka.
            wait=wait_exponential_jitter(multiplier=0.2, max=3),
            stop=stop_when_event_set(stop),
            before_sleep=self._log_retry,
        )
        log.info("relay started", relay=self.name, prefix=self.prefix)
        try:
            while not stop.is_set():
                try:
                    sent = retrying(self.relay_once)
                except RetryError:
                    break  # stopped while retrying
                if sent == 0 and self._conn is not None:
                    self._wait_for_commits(idle_timeout)
        finally:
            self.close()
            if self.heartbeat is not None:
                self.heartbeat.stop()

    def _wait_for_commits(self, idle_timeout: float) -> None:
        """Sleep on LISTEN until a writer commits or the time-out passes. A connection lost
        meanwhile is dropped: the next batch reconnects and reads the stored position."""
        assert self._conn is not None
        try:
            held = self.reader.held_back(self._conn, self.position)
            wait = HELD_BACK_RETRY if held else idle_timeout
            for _ in self._conn.notifies(timeout=wait, stop_after=1):
                pass
        except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
            log.warning("relay lost its database connection", relay=self.name, error=repr(exc))
            self.release()

    def _log_retry(self, state: RetryCallState) -> None:
        if self._conn is not None and self._conn.broken:
            self.release()  # reconnect (and re-read the position) on the next attempt
        now = time.monotonic()
        if self._failing_since is None:
            self._failing_since = now
        failing_for = now - self._failing_since
        log.warning(
            "relay retrying",
            relay=self.name,
            attempt=state.attempt_number,
            failing_s=round(failing_for, 1),
            sleep_s=round(state.next_action.sleep, 2) if state.next_action else None,
            error=repr(state.outcome.exception()) if state.outcome else None,
        )
        self.retries += 1
        stuck = self._publish_failed and failing_for >= self.stuck_after
        if stuck and broker_answers(self.bootstrap):
            # The broker answers a fresh client, but ours still makes no progress: throw
            # everything away and start again from the stored position (ADR 0019).
            log.error(
                "relay's Kafka client is stuck; rebuilding it",
                relay=self.name,
                failing_s=round(failing_for, 1),
            )
            self._drop_producer()
            self.clients_rebuilt += 1
            self._failing_since = now
        self._beat()
