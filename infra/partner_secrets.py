"""Postal partners' webhook secrets, encrypted at rest (AES-GCM, key from settings).
HMAC needs the secret itself, so it cannot be hashed; it is never logged, and returned
only once, when created. A secret is valid while the partner's aggregate lists its id."""

from __future__ import annotations

import base64
import os
import secrets
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from infra.database import Database

DDL = """
CREATE TABLE IF NOT EXISTS partner_secrets (
    partner text NOT NULL,
    secret_id text NOT NULL,
    nonce bytea NOT NULL,
    ciphertext bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (partner, secret_id)
);
"""


def load_key(configured: str | None, data_dir: Path, filename: str = "secrets.key") -> bytes:
    """A 32-byte key: from settings (base64), or for development a key file created once
    under the data folder."""
    if configured:
        key = base64.b64decode(configured)
        if len(key) != 32:
            raise ValueError("keys in settings must be 32 bytes, base64-encoded")
        return key
    path = data_dir / filename
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64encode(AESGCM.generate_key(bit_length=256)))
        path.chmod(0o600)
    return base64.b64decode(path.read_bytes())


class PartnerSecrets:
    def __init__(self, db: Database, key: bytes) -> None:
        self.db = db
        self.aead = AESGCM(key)

    def setup(self) -> None:
        with self.db.transaction() as conn:
            # Processes starting together would race on CREATE TABLE IF NOT EXISTS.
            conn.execute("SELECT pg_advisory_xact_lock(hashtext('libshare-partner-secrets-setup'))")
            conn.execute(DDL)

    def create(self, partner: str, given: str | None = None) -> tuple[str, str]:
        """A new random secret for `partner` (or the `given` one, a secret agreed with an
        outside peer): returns (secret id, the secret, shown once)."""
        secret_id = f"s-{secrets.token_hex(6)}"
        secret = given if given is not None else secrets.token_urlsafe(32)
        nonce = os.urandom(12)
        sealed = self.aead.encrypt(nonce, secret.encode(), f"{partner}:{secret_id}".encode())
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO partner_secrets (partner, secret_id, nonce, ciphertext) "
                "VALUES (%s, %s, %s, %s)",
                (partner, secret_id, nonce, sealed),
            )
        return secret_id, secret

    def valid(self, partner: str, secret_ids: list[str]) -> list[bytes]:
        """The secrets of `partner` whose ids are valid, decrypted for HMAC checks."""
        if not secret_ids:
            return []
        with self.db.transaction() as conn:
            rows = conn.execute(
                "SELECT secret_id, nonce, ciphertext FROM partner_secrets "
                "WHERE partner = %s AND secret_id = ANY(%s)",
                (partner, secret_ids),
            ).fetchall()
        return [
            self.aead.decrypt(bytes(nonce), bytes(sealed), f"{partner}:{sid}".encode())
            for sid, nonce, sealed in rows
        ]
