"""Readers' personal data, encrypted per reader (crypto-shredding). Each reader has a data
key of their own (AES-256-GCM), kept in `reader_keys` wrapped by the key from settings
(`LIBSHARE_READER_DATA_KEY`). The event store's mapper seals the `personal` field of an
event with its originator's key before the event is stored, so the stored state, the
notification log, Kafka and every read model hold ciphertext only; only the write side,
loading a reader's aggregate, opens it. Erasure deletes the key row: the ciphertext stays
in the log (its hashes, its order, its versions unchanged) and can never be read again;
it opens as None."""

from __future__ import annotations

import base64
import os
from typing import Any
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import Mapper, StoredEvent, Transcoder

from domain.reader import PERSONAL
from infra.database import Database

DDL = """
CREATE TABLE IF NOT EXISTS reader_keys (
    reader_id uuid PRIMARY KEY,
    nonce bytea NOT NULL,
    wrapped bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
"""
SEALED = "sealed:v1:"


class ReaderKeys:
    """The readers' data keys, wrapped by the key from settings."""

    def __init__(self, db: Database, key: bytes) -> None:
        self.db = db
        self.wrapper = AESGCM(key)

    def setup(self) -> None:
        with self.db.transaction() as conn:
            # Processes starting together would race on CREATE TABLE IF NOT EXISTS.
            conn.execute("SELECT pg_advisory_xact_lock(hashtext('libshare-reader-keys-setup'))")
            conn.execute(DDL)

    def key_for(self, reader_id: UUID, *, create: bool = False) -> bytes | None:
        """The reader's data key (made on first use when `create`), or None: destroyed."""
        with self.db.transaction() as conn:
            if create:
                nonce, key = os.urandom(12), AESGCM.generate_key(bit_length=256)
                wrapped = self.wrapper.encrypt(nonce, key, reader_id.bytes)
                conn.execute(
                    "INSERT INTO reader_keys (reader_id, nonce, wrapped) VALUES (%s, %s, %s) "
                    "ON CONFLICT (reader_id) DO NOTHING",
                    (reader_id, nonce, wrapped),
                )
            row = conn.execute(
                "SELECT nonce, wrapped FROM reader_keys WHERE reader_id = %s", (reader_id,)
            ).fetchone()
        if row is None:
            return None
        return self.wrapper.decrypt(bytes(row[0]), bytes(row[1]), reader_id.bytes)

    def destroy(self, reader_id: UUID) -> None:
        with self.db.transaction() as conn:
            conn.execute("DELETE FROM reader_keys WHERE reader_id = %s", (reader_id,))


class PersonalDataMapper(Mapper[UUID]):
    """eventsourcing's mapper, sealing the `personal` field of events with the key of the
    aggregate they belong to; an event without that field is mapped as usual."""

    def __init__(self, transcoder: Transcoder, keys: ReaderKeys | None) -> None:
        super().__init__(transcoder)
        self.keys = keys
        # What the read side decodes with: the same mapper that never opens a seal.
        self.sealed_mapper: Mapper[UUID] = Mapper(transcoder)

    def to_stored_event(self, domain_event: DomainEventProtocol[UUID]) -> StoredEvent:
        state = vars(domain_event)
        value = state.get(PERSONAL)
        if value is None or (isinstance(value, str) and value.startswith(SEALED)):
            return super().to_stored_event(domain_event)
        if self.keys is None:
            raise RuntimeError("personal data cannot be stored without the readers' keys")
        reader_id = domain_event.originator_id
        key = self.keys.key_for(reader_id, create=True)
        assert key is not None
        nonce = os.urandom(12)
        plain = self.transcoder.encode({"v": value})
        sealed = SEALED + base64.b64encode(
            nonce + AESGCM(key).encrypt(nonce, plain, reader_id.bytes)
        ).decode("ascii")
        copy = object.__new__(type(domain_event))
        object.__setattr__(copy, "__dict__", {**state, PERSONAL: sealed})
        return super().to_stored_event(copy)

    def to_domain_event(self, stored_event: StoredEvent) -> DomainEventProtocol[UUID]:
        event = super().to_domain_event(stored_event)
        state: dict[str, Any] = vars(event)
        value = state.get(PERSONAL)
        if isinstance(value, str) and value.startswith(SEALED):
            state[PERSONAL] = self._open(event.originator_id, value)
        return event

    def _open(self, reader_id: UUID, sealed: str) -> Any:
        key = self.keys.key_for(reader_id) if self.keys is not None else None
        if key is None:
            return None  # erased: the placeholder is the aggregate's to show
        raw = base64.b64decode(sealed[len(SEALED) :])
        try:
            plain = AESGCM(key).decrypt(raw[:12], raw[12:], reader_id.bytes)
        except InvalidTag:
            return None
        return self.transcoder.decode(plain)["v"]
