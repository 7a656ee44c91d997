"""Secret material for accounts, kept out of the event log: argon2 password hashes, API
key hashes, and failed sign-ins for throttling. Which keys exist and whether they are
revoked is the Account aggregate's business (events); this table only proves a secret.

API keys look like `lsk_<key id>_<secret>`: the key id finds the row, and the secret (32
random bytes) is stored as its SHA-256, which suffices for a high-entropy secret."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from infra.database import Database

DDL = """
CREATE TABLE IF NOT EXISTS account_passwords (
    username text PRIMARY KEY,
    hash text NOT NULL,
    set_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS account_api_keys (
    key_id text PRIMARY KEY,
    username text NOT NULL,
    hash bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS login_failures (
    username text NOT NULL,
    failed_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS login_failures_by_user ON login_failures (username, failed_at);
"""

KEY_PREFIX = "lsk_"
MIN_PASSWORD = 10


def _digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


def parse_api_key(presented: str) -> tuple[str, str] | None:
    """(key id, secret) of a well-formed API key, else None."""
    if not presented.startswith(KEY_PREFIX):
        return None
    key_id, sep, secret = presented[len(KEY_PREFIX) :].partition("_")
    return (key_id, secret) if sep and key_id.startswith("k-") and secret else None


class Credentials:
    def __init__(self, db: Database, hasher: PasswordHasher | None = None) -> None:
        self.db = db
        self.hasher = hasher or PasswordHasher()
        # key id -> (username, hash). A key's row is written once and never changed or
        # deleted (revoking is an event on the account), so a row once read stays true.
        self._key_rows: dict[str, tuple[str, bytes]] = {}

    def setup(self) -> None:
        with self.db.transaction() as conn:
            conn.execute("SELECT pg_advisory_xact_lock(hashtext('libshare-credentials-setup'))")
            conn.execute(DDL)

    # -- passwords ---------------------------------------------------------------------------
    def set_password(self, username: str, password: str) -> None:
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO account_passwords (username, hash) VALUES (%s, %s) "
                "ON CONFLICT (username) DO UPDATE SET hash = EXCLUDED.hash, set_at = now()",
                (username, self.hasher.hash(password)),
            )

    def has_password(self, username: str) -> bool:
        with self.db.transaction() as conn:
            row = conn.execute(
                "SELECT 1 FROM account_passwords WHERE username = %s", (username,)
            ).fetchone()
        return row is not None

    def check_password(self, username: str, password: str) -> bool:
        with self.db.transaction() as conn:
            row = conn.execute(
                "SELECT hash FROM account_passwords WHERE username = %s", (username,)
            ).fetchone()
        if row is None:
            # Spend the same time as a real check, so timing tells nothing of who exists.
            self.hasher.hash(password)
            return False
        try:
            return self.hasher.verify(row[0], password)
        except (VerificationError, InvalidHashError):
            return False

    # -- API keys ----------------------------------------------------------------------------
    def new_api_key(self, username: str) -> tuple[str, str]:
        """Store a new key's hash: returns (key id, the whole key, shown once)."""
        key_id = f"k-{secrets.token_hex(6)}"
        secret = secrets.token_urlsafe(32)
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO account_api_keys (key_id, username, hash) VALUES (%s, %s, %s)",
                (key_id, username, _digest(secret)),
            )
        return key_id, f"{KEY_PREFIX}{key_id}_{secret}"

    def api_key_owner(self, presented: str) -> tuple[str, str] | None:
        """(username, key id) if the presented key matches a stored one."""
        parsed = parse_api_key(presented)
        if parsed is None:
            return None
        key_id, secret = parsed
        row = self._key_rows.get(key_id)
        if row is None:
            with self.db.transaction() as conn:
                found = conn.execute(
                    "SELECT username, hash FROM account_api_keys WHERE key_id = %s", (key_id,)
                ).fetchone()
            if found is None:
                return None
            row = (str(found[0]), bytes(found[1]))
            if len(self._key_rows) < 10_000:
                self._key_rows[key_id] = row
        username, stored = row
        if not hmac.compare_digest(stored, _digest(secret)):
            return None
        return username, key_id

    # -- throttling --------------------------------------------------------------------------
    def recent_failures(self, username: str, window: timedelta) -> tuple[int, float]:
        """Failed sign-ins for `username` within `window`, and seconds until the oldest of
        them leaves the window."""
        with self.db.transaction() as conn:
            row = conn.execute(
                "SELECT count(*), coalesce(extract(epoch FROM min(failed_at) + %s - now()), 0) "
                "FROM login_failures WHERE username = %s AND failed_at > now() - %s",
                (window, username, window),
            ).fetchone()
        assert row is not None
        return int(row[0]), max(float(row[1]), 0.0)

    def record_failure(self, username: str) -> None:
        with self.db.transaction() as conn:
            conn.execute("INSERT INTO login_failures (username) VALUES (%s)", (username,))
            conn.execute("DELETE FROM login_failures WHERE failed_at < now() - interval '1 day'")

    def clear_failures(self, username: str) -> None:
        with self.db.transaction() as conn:
            conn.execute("DELETE FROM login_failures WHERE username = %s", (username,))
