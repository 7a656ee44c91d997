"""Where the OAI-PMH harvest of each library's remote catalogue has got (ADR 0025): the
`from` of its next run, the resumption token of a list it was in the middle of, and which
remote identifier names which of the library's records (a deleted header carries only the
identifier)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from infra.database import Database

DDL = """
CREATE TABLE IF NOT EXISTS catalogue_harvests (
    library text PRIMARY KEY,
    base_url text NOT NULL,
    next_from timestamptz,          -- NULL: harvest everything
    resumption_token text,          -- a list in progress
    list_started_at timestamptz,    -- when that list was first asked for
    harvested_at timestamptz
);
CREATE TABLE IF NOT EXISTS catalogue_harvest_ids (
    library text NOT NULL,
    identifier text NOT NULL,
    local_id text NOT NULL,
    PRIMARY KEY (library, identifier)
);
"""


@dataclass(frozen=True)
class Position:
    next_from: datetime | None
    resumption_token: str | None
    list_started_at: datetime | None


class HarvestPositions:
    def __init__(self, db: Database) -> None:
        self.db = db

    def setup(self) -> None:
        with self.db.transaction() as conn:
            conn.execute("SELECT pg_advisory_xact_lock(hashtext('libshare-harvests-setup'))")
            conn.execute(DDL)

    def get(self, library: str, base_url: str) -> Position:
        """The position of `library`'s harvest from `base_url` (a new URL starts afresh)."""
        with self.db.transaction() as conn:
            row = conn.execute(
                "SELECT next_from, resumption_token, list_started_at FROM catalogue_harvests "
                "WHERE library = %s AND base_url = %s",
                (library, base_url),
            ).fetchone()
        return Position(*row) if row else Position(None, None, None)

    def save(
        self,
        library: str,
        base_url: str,
        position: Position,
        identifiers: dict[str, str],
        finished: bool,
    ) -> None:
        """After a page: the token to go on with (or, `finished`, the next run's `from`)
        and the identifiers the page named, in one transaction."""
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO catalogue_harvests (library, base_url, next_from, "
                "resumption_token, list_started_at, harvested_at) "
                "VALUES (%s, %s, %s, %s, %s, CASE WHEN %s THEN now() END) "
                "ON CONFLICT (library) DO UPDATE SET base_url = excluded.base_url, "
                "next_from = excluded.next_from, resumption_token = excluded.resumption_token, "
                "list_started_at = excluded.list_started_at, "
                "harvested_at = coalesce(excluded.harvested_at, catalogue_harvests.harvested_at)",
                (
                    library,
                    base_url,
                    position.next_from,
                    position.resumption_token,
                    position.list_started_at,
                    finished,
                ),
            )
            if identifiers:
                conn.cursor().executemany(
                    "INSERT INTO catalogue_harvest_ids (library, identifier, local_id) "
                    "VALUES (%s, %s, %s) ON CONFLICT (library, identifier) "
                    "DO UPDATE SET local_id = excluded.local_id",
                    [(library, i, local) for i, local in identifiers.items()],
                )

    def local_ids(self, library: str, identifiers: list[str]) -> dict[str, str]:
        with self.db.transaction() as conn:
            rows = conn.execute(
                "SELECT identifier, local_id FROM catalogue_harvest_ids "
                "WHERE library = %s AND identifier = ANY(%s)",
                (library, identifiers),
            ).fetchall()
        return {str(i): str(local) for i, local in rows}
