"""Which backups were made, when, and whether they were good: what /health shows and the
schedule's retention keeps or deletes (ADR 0024)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from infra.database import Database

DDL = """
CREATE TABLE IF NOT EXISTS backups (
    id bigserial PRIMARY KEY,
    made_at timestamptz NOT NULL DEFAULT now(),
    path text NOT NULL,
    ok boolean NOT NULL,
    events bigint,
    digest text,
    seconds double precision,
    error text
);
"""


def ensure_table(db: Database) -> None:
    with db.transaction() as conn:
        conn.execute("SELECT pg_advisory_xact_lock(hashtext('libshare-backups-setup'))")
        conn.execute(DDL)


def record_backup(
    db: Database,
    path: Path,
    *,
    manifest: dict[str, Any] | None = None,
    seconds: float | None = None,
    error: str | None = None,
) -> None:
    ensure_table(db)
    events = manifest["events"] if manifest else {}
    with db.transaction() as conn:
        conn.execute(
            "INSERT INTO backups (path, ok, events, digest, seconds, error) "
            "VALUES (%s, %s, %s, %s, %s, %s)",
            (str(path), error is None, events.get("count"), events.get("digest"), seconds, error),
        )


def last_backups(db: Database) -> dict[str, Any]:
    """The last good backup and the last attempt (None when there is none)."""
    with db.transaction() as conn:
        if conn.execute("SELECT to_regclass('backups')").fetchone() == (None,):
            return {"last_good": None, "last_attempt": None}
        found = {}
        for name, where in (("last_good", "WHERE ok"), ("last_attempt", "")):
            row = conn.execute(
                "SELECT made_at, path, ok, events, digest, error, "
                f"extract(epoch FROM now() - made_at) FROM backups {where} "
                "ORDER BY id DESC LIMIT 1"
            ).fetchone()
            found[name] = (
                None
                if row is None
                else {
                    "made_at": row[0].isoformat(),
                    "path": row[1],
                    "ok": row[2],
                    "events": row[3],
                    "digest": row[4],
                    "error": row[5],
                    "age_s": round(float(row[6]), 1),
                }
            )
    return found
