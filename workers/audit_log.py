"""The verifiable log's worker (ADR 0026): follows the event store with the gap-aware
order (ADR 0003), appends one leaf per event, and every `checkpoint_every` events or
`checkpoint_seconds` (whichever comes first, once the tree has grown) signs a checkpoint,
stores it and publishes it, with a consistency proof from the previous one, on its own
Kafka topic for the witnesses. It also stores the cosignatures the witnesses publish.

Leaves and the log's state are written in one transaction, under a row lock on the
state: a second worker waits; a crash loses nothing and writes no leaf twice."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Callable
from typing import Any

import structlog

from infra.audit_store import leaf_hashes, logged_data, next_rows
from infra.audit_store import setup as setup_tables
from infra.audit_topics import (
    Published,
    checkpoints_topic,
    cosignatures_topic,
    ensure_topics,
    leaves_topic,
)
from infra.database import Database
from infra.heartbeats import Heartbeat
from infra.merkle import Frontier, consistency_proof
from infra.signed_note import Checkpoint, Signer

log = structlog.get_logger("libshare.audit")


class Kafka:
    """The two topics of the log, for the worker: publish checkpoints, read cosignatures."""

    def __init__(self, bootstrap: str, prefix: str, client_id: str) -> None:
        from kafka import KafkaConsumer, KafkaProducer, TopicPartition

        from infra.kafka_log import PRODUCER_SETTINGS

        ensure_topics(bootstrap, prefix, client_id)
        self.topic, self.leaves = checkpoints_topic(prefix), leaves_topic(prefix)
        self.producer = KafkaProducer(
            bootstrap_servers=bootstrap, client_id=f"{client_id}-audit", **PRODUCER_SETTINGS
        )
        self.consumer = KafkaConsumer(
            bootstrap_servers=bootstrap, client_id=f"{client_id}-audit", enable_auto_commit=False
        )
        self.consumer.assign([TopicPartition(cosignatures_topic(prefix), 0)])
        self.consumer.seek_to_beginning()

    def publish(self, size: int, value: bytes, leaves: list[tuple[int, bytes]]) -> None:
        """The leaves' data, then the checkpoint that covers them."""
        futures = [
            self.producer.send(self.leaves, key=b"%d" % index, value=data) for index, data in leaves
        ]
        for f in futures:
            f.get(timeout=15)
        self.producer.send(self.topic, key=str(size).encode(), value=value).get(timeout=15)

    def cosignatures(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        for batch in self.consumer.poll(timeout_ms=0).values():
            found.extend(json.loads(r.value) for r in batch)
        return found

    def close(self) -> None:
        self.producer.close(timeout=2)
        self.consumer.close()


class AuditLog:
    def __init__(
        self,
        db: Database,
        signer: Signer,
        *,
        checkpoint_every: int = 1000,
        checkpoint_seconds: float = 10.0,
        make_kafka: Callable[[], Kafka] | None = None,
        batch_size: int = 5000,
        name: str = "events",
        heartbeat: Heartbeat | None = None,
    ) -> None:
        self.db, self.signer, self.name = db, signer, name
        self.checkpoint_every, self.checkpoint_seconds = checkpoint_every, checkpoint_seconds
        self.make_kafka = make_kafka
        self.batch_size = batch_size
        self.heartbeat = heartbeat
        self._last_checkpoint_at = time.monotonic()
        self.kafka_client: Kafka | None = None

    def setup(self) -> None:
        setup_tables(self.db)
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO audit_log_state (log) VALUES (%s) ON CONFLICT DO NOTHING", (self.name,)
            )

    # -- leaves -----------------------------------------------------------------------------
    def append_once(self) -> int:
        """Append the next batch of committed events as leaves; returns how many."""
        with self.db.transaction() as conn:
            xid, nid, size, packed = conn.execute(
                "SELECT xid, notification_id, size, frontier FROM audit_log_state "
                "WHERE log = %s FOR UPDATE",
                (self.name,),
            ).fetchone() or (0, 0, 0, b"")
            last = conn.execute("SELECT coalesce(max(size), 0) FROM audit_checkpoints").fetchone()
            # A batch ends where the next checkpoint is due: one every `checkpoint_every`.
            to_next = self.checkpoint_every - (size - int(last[0] if last else 0))
            rows = next_rows(conn, xid, nid, max(1, min(self.batch_size, to_next)))
            if not rows:
                return 0
            frontier = Frontier.unpack(size, bytes(packed))
            leaves = []
            for row in rows:
                leaf = row.leaf
                leaves.append(
                    (frontier.size, row.notification_id, row.originator_id, row.version, leaf)
                )
                frontier.append(leaf)
            with conn.cursor() as cur:
                cur.executemany(
                    "INSERT INTO audit_leaves (leaf_index, notification_id, originator_id, "
                    "originator_version, hash) VALUES (%s, %s, %s::uuid, %s, %s)",
                    leaves,
                )
            end = rows[-1]
            conn.execute(
                "UPDATE audit_log_state SET xid = %s, notification_id = %s, size = %s, "
                "frontier = %s, updated_at = now() WHERE log = %s",
                (end.xid, end.notification_id, frontier.size, frontier.packed(), self.name),
            )
        return len(rows)

    # -- checkpoints ------------------------------------------------------------------------
    def checkpoint_due(self) -> bool:
        with self.db.transaction() as conn:
            size, last = conn.execute(
                "SELECT s.size, coalesce((SELECT max(size) FROM audit_checkpoints), 0) "
                "FROM audit_log_state s WHERE s.log = %s",
                (self.name,),
            ).fetchone() or (0, 0)
        if size <= last:
            return False
        waited = time.monotonic() - self._last_checkpoint_at >= self.checkpoint_seconds
        return size - last >= self.checkpoint_every or waited

    def checkpoint(self) -> Checkpoint | None:
        """Sign and store a checkpoint of the tree as it stands, if it has grown."""
        with self.db.transaction() as conn:
            size, packed = conn.execute(
                "SELECT size, frontier FROM audit_log_state WHERE log = %s FOR UPDATE",
                (self.name,),
            ).fetchone() or (0, b"")
            last = conn.execute("SELECT max(size) FROM audit_checkpoints").fetchone()
            if size == 0 or (last and last[0] is not None and last[0] >= size):
                return None
            root = Frontier.unpack(size, bytes(packed)).root()
            cp = Checkpoint(self.signer.name, size, root)
            conn.execute(
                "INSERT INTO audit_checkpoints (size, root, note) VALUES (%s, %s, %s)",
                (size, root, self.signer.sign(cp)),
            )
        self._last_checkpoint_at = time.monotonic()
        log.info("checkpoint signed", size=size, root=base64.b64encode(root).decode())
        return cp

    def publish_pending(self) -> int:
        """Publish the checkpoints not yet on Kafka, oldest first, each with a consistency
        proof from the one before it; store the witnesses' cosignatures."""
        if self.make_kafka is None:
            return 0
        if self.kafka_client is None:
            self.kafka_client = self.make_kafka()
        kafka = self.kafka_client
        with self.db.transaction() as conn:
            pending = conn.execute(
                "SELECT c.size, c.note, coalesce((SELECT max(p.size) FROM audit_checkpoints p "
                "WHERE p.size < c.size), 0) FROM audit_checkpoints c "
                "WHERE NOT c.published ORDER BY c.size"
            ).fetchall()
        for size, note, old_size in pending:
            with self.db.transaction() as conn:
                hashes = leaf_hashes(conn, size)
                data = logged_data(conn, old_size, size)
            proof = consistency_proof(hashes, old_size) if old_size else []
            published = Published(note, old_size, proof, hashes[old_size:size])
            kafka.publish(size, published.encode(), data)
            with self.db.transaction() as conn:
                conn.execute(
                    "UPDATE audit_checkpoints SET published = true WHERE size = %s", (size,)
                )
        self.store_cosignatures(kafka.cosignatures())
        return len(pending)

    def store_cosignatures(self, found: list[dict[str, Any]]) -> None:
        if not found:
            return
        with self.db.transaction() as conn, conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO audit_cosignatures (size, witness, vkey, line) "
                "VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING",
                [(c["size"], c["witness"], c["vkey"], c["line"]) for c in found],
            )

    # -- the loop ---------------------------------------------------------------------------
    def run_once(self) -> int:
        appended = 0
        while n := self.append_once():
            appended += n
            if self.checkpoint_due():
                self.checkpoint()
        if self.checkpoint_due():
            self.checkpoint()
        self.publish_pending()
        if self.heartbeat is not None:
            self.heartbeat.beat(progress=appended)
        return appended

    def run(self, stop: threading.Event, idle: float = 0.5) -> None:
        log.info("audit log started", origin=self.signer.name)
        try:
            while not stop.is_set():
                try:
                    if self.run_once() == 0:
                        stop.wait(idle)
                except Exception as exc:  # the database or Kafka away: retried
                    log.warning("audit log retrying", error=repr(exc))
                    if self.kafka_client is not None:
                        self.kafka_client.close()
                        self.kafka_client = None
                    stop.wait(2.0)
        finally:
            if self.kafka_client is not None:
                self.kafka_client.close()
