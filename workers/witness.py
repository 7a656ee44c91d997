"""A witness (c2sp.org/tlog-witness, over Kafka; ADR 0026): another library's process
that reads the log's checkpoints in order, checks each is signed by the log and extends
the last one it cosigned (the consistency proof that travels with it), and only then
adds its own cosignature. A checkpoint that does not extend what it saw — a history
rewritten after that checkpoint — is refused, and both notes are kept as evidence.

Its state is a folder of its own: its Ed25519 key, the last checkpoint it cosigned, and
any evidence of a fork. It needs no access to the log's database."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import structlog
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from infra.audit_topics import Published, checkpoints_topic, cosignatures_topic, ensure_topics
from infra.merkle import verify_consistency
from infra.partner_secrets import load_key
from infra.signed_note import Checkpoint, NoteError, Signer, open_note, parse

log = structlog.get_logger("libshare.witness")


class Fork(Exception):
    """A checkpoint inconsistent with one this witness cosigned before."""


class Refused(Exception):
    """A checkpoint this witness cannot check (bad signature, a proof from another size)."""


@dataclass
class Witness:
    signer: Signer
    log_key: str
    folder: Path
    held_note: str | None = None  # the last checkpoint cosigned, as the log signed it

    @property
    def state_file(self) -> Path:
        return self.folder / "checkpoint.note"

    @classmethod
    def open(cls, name: str, folder: Path, log_key: str) -> Witness:
        seed = load_key(None, folder, "witness.key")
        w = cls(Signer.from_seed(name, seed), log_key, folder)
        if w.state_file.exists():
            w.held_note = w.state_file.read_text(encoding="utf-8")
        return w

    @property
    def held(self) -> Checkpoint | None:
        return parse(self.held_note)[0] if self.held_note else None

    def add_checkpoint(self, published: Published, now: int | None = None) -> str | None:
        """The cosignature line for this checkpoint, or None if it is one already seen.
        Raises Fork (evidence kept) or Refused."""
        try:
            cp = open_note(published.note, self.log_key)
        except NoteError as exc:
            raise Refused(str(exc)) from None
        held = self.held
        if held is not None:
            if cp.size < held.size:
                return None  # an older checkpoint, read again after a restart
            if cp.size == held.size:
                if cp.root != held.root:
                    self._evidence(published.note, "two roots for one tree size")
                return None
            if published.old_size != held.size:
                raise Refused(
                    f"checkpoint {cp.size} comes with a proof from {published.old_size}; "
                    f"this witness holds {held.size}"
                )
            if not verify_consistency(held.size, cp.size, held.root, cp.root, published.proof):
                self._evidence(published.note, "the consistency proof does not verify")
        line = self.signer.cosign(cp, int(now if now is not None else time.time()))
        self.folder.mkdir(parents=True, exist_ok=True)
        tmp = self.state_file.with_suffix(".tmp")
        tmp.write_text(published.note, encoding="utf-8")
        tmp.replace(self.state_file)  # atomically: a crash keeps the old or the new
        self.held_note = published.note
        return line

    def _evidence(self, note: str, why: str) -> None:
        held = self.held
        assert held is not None and self.held_note is not None
        path = self.folder / f"fork-{held.size}-{parse(note)[0].size}.txt"
        path.write_text(
            f"{why}\n\n# cosigned before\n{self.held_note}\n# offered now\n{note}",
            encoding="utf-8",
        )
        log.error("forked history refused", why=why, evidence=str(path))
        raise Fork(f"{why}: evidence in {path}")


class KafkaWitness:
    """A witness reading the checkpoints topic and publishing its cosignatures."""

    def __init__(self, witness: Witness, bootstrap: str, prefix: str) -> None:
        self.witness, self.bootstrap, self.prefix = witness, bootstrap, prefix
        self.forks = 0
        self.cosigned = 0

    def _consume(self, stop: threading.Event | None, until_idle: bool) -> int:
        ensure_topics(self.bootstrap, self.prefix, "libshare-witness")
        name = self.witness.signer.name
        consumer = KafkaConsumer(
            bootstrap_servers=self.bootstrap, client_id=f"witness-{name}", enable_auto_commit=False
        )
        producer = KafkaProducer(bootstrap_servers=self.bootstrap, acks="all")
        try:
            part = TopicPartition(checkpoints_topic(self.prefix), 0)
            consumer.assign([part])
            consumer.seek_to_beginning(part)
            idle = 0
            while not (stop and stop.is_set()):
                records = [r for b in consumer.poll(timeout_ms=500).values() for r in b]
                for record in records:
                    self._one(producer, Published.decode(record.value))
                idle = 0 if records else idle + 1
                if until_idle and idle >= 2:
                    break
            producer.flush(timeout=15)
        finally:
            producer.close(timeout=2)
            consumer.close()
        return self.forks

    def _one(self, producer: KafkaProducer, published: Published) -> None:
        try:
            line = self.witness.add_checkpoint(published)
        except Fork:
            self.forks += 1
            return
        except Refused as exc:
            log.warning("checkpoint refused", reason=str(exc))
            return
        if line is None:
            return
        signer = self.witness.signer
        size = parse(published.note)[0].size
        value = {"size": size, "witness": signer.name, "vkey": signer.vkey, "line": line}
        producer.send(cosignatures_topic(self.prefix), json.dumps(value).encode()).get(15)
        self.cosigned += 1
        log.info("checkpoint cosigned", witness=signer.name, size=size)

    def run_until_idle(self) -> int:
        return self._consume(None, until_idle=True)

    def run(self, stop: threading.Event) -> int:
        return self._consume(stop, until_idle=False)
