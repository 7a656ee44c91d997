"""Many saves in one statement and one commit, each keeping its own concurrency check
(ADR 0030).

A save is its events, their metadata and, for a command with a client's key, the key's
record. The statement first finds the saves that would conflict with what is stored
(an event's aggregate version taken, or the command's key), leaves them out and writes
the rest: the commit holds every other save whole, and each left-out save fails alone
with the `IntegrityError` it would have met on its own. A save that races one
committing elsewhere, unseen by that check, makes the statement fail on the unique
index; the batch is then written again, when the check sees the winner.

Two saves in one batch that claim the same version or key cannot both be checked by
one statement: the later one waits for the next statement, so the earlier wins, as it
would have by committing first."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from eventsourcing.persistence import IntegrityError, StoredEvent
from psycopg import Cursor, errors
from psycopg.rows import DictRow
from psycopg.sql import SQL, Identifier

Outcome = Sequence[int] | BaseException

RACE_RETRIES = 3  # statements lost to a concurrent save, before each save goes alone


@dataclass(frozen=True)
class Save:
    events: Sequence[StoredEvent]
    metadata: str | None  # JSON
    key: str | None  # the command's idempotency key, with its fingerprint and result
    fingerprint: str | None
    result: str | None  # JSON


class BatchInsert:
    def __init__(self, schema: str, events_table: str, commands_table: str, id_type: str):
        self._names = {
            "schema": Identifier(schema),
            "events": Identifier(events_table),
            "commands": Identifier(commands_table),
            "id_type": SQL(id_type),
        }

    @cached_property
    def statement(self) -> bytes:
        return (
            SQL(
                "WITH e AS (SELECT * FROM unnest(%b::int[], %b::{id_type}[], %b::bigint[], "
                "%b::text[], %b::bytea[], %b::text[]) WITH ORDINALITY "
                "AS e(save, originator_id, originator_version, topic, state, metadata, n)), "
                "c AS (SELECT * FROM unnest(%b::int[], %b::text[], %b::text[], %b::text[]) "
                "AS c(save, key, fingerprint, result)), "
                "taken AS (SELECT e.save FROM e JOIN {schema}.{events} s "
                "USING (originator_id, originator_version) "
                "UNION SELECT c.save FROM c JOIN {schema}.{commands} k USING (key)), "
                "command AS (INSERT INTO {schema}.{commands} (key, fingerprint, result) "
                "SELECT key, fingerprint, result::jsonb FROM c "
                "WHERE save NOT IN (SELECT save FROM taken)) "
                "INSERT INTO {schema}.{events} "
                "(originator_id, originator_version, topic, state, metadata) "
                "SELECT originator_id, originator_version, topic, state, metadata::jsonb "
                "FROM e WHERE save NOT IN (SELECT save FROM taken) ORDER BY n "
                "RETURNING notification_id, originator_id, originator_version"
            )
            .format(**self._names)
            .as_bytes(None)
        )

    def write(self, curs: Cursor[DictRow], saves: Sequence[Save]) -> list[Outcome]:
        """Each save's notification ids, or the IntegrityError it fails with."""
        outcomes: list[Outcome | None] = [None] * len(saves)
        pending = list(range(len(saves)))
        while pending:
            now, later = self._disjoint(saves, pending)
            written = self._racing(curs, [saves[i] for i in now])
            for j, i in enumerate(now):
                ids = written.get(j)
                outcomes[i] = ids if ids else IntegrityError("the version or key is taken")
            pending = later
        return [o for o in outcomes if o is not None]

    def _racing(self, curs: Cursor[DictRow], saves: Sequence[Save]) -> dict[int, list[int]]:
        """Written ids by save. A statement that loses a race to a save committed
        elsewhere (or a deadlock with one) is tried again; after RACE_RETRIES, each save
        goes alone, so that a race lost fails only its own save."""
        for _ in range(RACE_RETRIES):
            try:
                return self._execute(curs, saves)
            except (errors.UniqueViolation, errors.DeadlockDetected):
                continue
        written: dict[int, list[int]] = {}
        for n, save in enumerate(saves):
            try:
                ids = self._execute(curs, [save]).get(0)
            except errors.UniqueViolation:
                continue
            if ids:
                written[n] = ids
        return written

    @staticmethod
    def _disjoint(saves: Sequence[Save], pending: list[int]) -> tuple[list[int], list[int]]:
        """The pending saves that claim no version or key an earlier one claims, and
        the others (for the next statement)."""
        claimed: set[Any] = set()
        now, later = [], []
        for i in pending:
            save = saves[i]
            claims: set[Any] = {(e.originator_id, e.originator_version) for e in save.events}
            if save.key:
                claims.add(save.key)
            if claims & claimed:
                later.append(i)
            else:
                claimed |= claims
                now.append(i)
        return now, later

    def _execute(self, curs: Cursor[DictRow], saves: Sequence[Save]) -> dict[int, list[int]]:
        """Write the saves that do not conflict; notification ids by save (in order)."""
        numbers, ids, versions, topics, states, metas = [], [], [], [], [], []
        c_numbers, keys, prints, results = [], [], [], []
        where: dict[tuple[Any, int], int] = {}
        for n, save in enumerate(saves):
            for e in save.events:
                numbers.append(n)
                ids.append(e.originator_id)
                versions.append(e.originator_version)
                topics.append(e.topic)
                states.append(e.state)
                metas.append(save.metadata)
                where[(e.originator_id, e.originator_version)] = n
            if save.key:
                c_numbers.append(n)
                keys.append(save.key)
                prints.append(save.fingerprint)
                results.append(save.result)
        params = (numbers, ids, versions, topics, states, metas, c_numbers, keys, prints, results)
        curs.execute(self.statement, params, prepare=True)
        written: dict[int, list[int]] = {}
        for row in curs.fetchall():
            n = where[(row["originator_id"], row["originator_version"])]
            written.setdefault(n, []).append(row["notification_id"])
        return written
