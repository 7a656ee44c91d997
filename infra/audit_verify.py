"""`libshare audit verify` from PostgreSQL (ADR 0026): recompute every leaf from the
events as stored, in the log's order; compare each with the leaf the log recorded at
that place, and the tree's root at each checkpoint's size with the checkpoint's signed
root; name the first event or checkpoint that does not match.

The recorded leaves only help name the place: whoever can rewrite the events can
rewrite them too. What cannot be rewritten unseen are the signed checkpoints others
hold (the witnesses, an auditor's `--checkpoint`): their roots are checked against the
events themselves."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import psycopg

from infra.audit_store import StoredRow, all_rows, leaf_data
from infra.merkle import Frontier, leaf_hash
from infra.signed_note import Checkpoint, NoteError, open_note

Progress = Callable[[int, int], None]  # (events seen, events in all)


@dataclass
class VerifyReport:
    events: int = 0
    logged: int = 0  # leaves the log recorded
    checkpoints: int = 0  # checkpoints whose roots were checked
    seconds: float = 0.0
    failure: str | None = None  # the first place that does not match
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.failure is None

    @property
    def events_per_second(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0


def _checkpoints(
    conn: psycopg.Connection[Any], vkey: str, trusted: list[str], report: VerifyReport
) -> list[Checkpoint] | None:
    """The stored checkpoints (and the trusted ones), their signatures checked."""
    found: dict[int, Checkpoint] = {}
    rows = conn.execute("SELECT size, root, note FROM audit_checkpoints ORDER BY size").fetchall()
    for size, root, note in rows:
        try:
            cp = open_note(note, vkey)
        except NoteError as exc:
            report.failure = f"checkpoint at size {size}: {exc}"
            return None
        if cp.size != size or cp.root != bytes(root):
            report.failure = f"checkpoint at size {size}: its row does not match its signed note"
            return None
        found[size] = cp
    for note in trusted:
        try:
            cp = open_note(note, vkey)
        except NoteError as exc:
            report.failure = f"the trusted checkpoint: {exc}"
            return None
        held = found.get(cp.size)
        if held is not None and held.root != cp.root:
            report.failure = (
                f"checkpoint at size {cp.size}: the stored one differs from the trusted one "
                "(the history was rewritten after it was signed)"
            )
            return None
        found[cp.size] = cp
    return [found[s] for s in sorted(found)]


def _stored_leaves(conn: psycopg.Connection[Any]) -> Iterator[tuple[Any, ...]]:
    with conn.cursor(name="audit_stored_leaves", binary=True) as cur:
        cur.itersize = 20_000
        cur.execute(
            "SELECT leaf_index, notification_id, originator_id::text, originator_version, hash "
            "FROM audit_leaves ORDER BY leaf_index"
        )
        while batch := cur.fetchmany(20_000):
            yield from batch


def verify_postgres(
    events_conn: psycopg.Connection[Any],
    leaves_conn: psycopg.Connection[Any],
    vkey: str,
    *,
    trusted: list[str] | None = None,
    on_progress: Progress | None = None,
) -> VerifyReport:
    """Two connections (each reads with its own server-side cursor, in a transaction)."""
    report = VerifyReport()
    started = time.perf_counter()
    checkpoints = _checkpoints(events_conn, vkey, trusted or [], report)
    if checkpoints is None:
        return report
    row = events_conn.execute("SELECT count(*) FROM libshare_events").fetchone()
    total = int(row[0]) if row else 0
    row = leaves_conn.execute("SELECT count(*) FROM audit_leaves").fetchone()
    report.logged = int(row[0]) if row else 0
    stored = _stored_leaves(leaves_conn)
    frontier = Frontier()
    append = frontier.append
    pending = iter(checkpoints)
    due = next(pending, None)
    index = 0
    for raw in all_rows(events_conn):
        _nid, _xid, oid, version, topic, state, meta = raw
        leaf = leaf_hash(leaf_data(oid, version, topic, state, meta))
        recorded = next(stored, None)
        if recorded is not None and bytes(recorded[4]) != leaf:
            report.failure = _mismatch(index, StoredRow(*raw), recorded)
            break
        append(leaf)
        index += 1
        while due is not None and due.size == index:
            if frontier.root() != due.root:
                report.failure = (
                    f"checkpoint at size {due.size}: the events up to leaf {index - 1} "
                    "do not give its signed root"
                )
                break
            report.checkpoints += 1
            due = next(pending, None)
        if report.failure:
            break
        if on_progress is not None and index % 20_000 == 0:
            on_progress(index, total)
    else:
        leftover = next(stored, None)
        if leftover is not None:
            report.failure = (
                f"leaf {leftover[0]}: the log recorded aggregate {leftover[2]} version "
                f"{leftover[3]} (notification {leftover[1]}) there, and the store has no "
                "event at that place: an event was deleted"
            )
        elif due is not None:
            report.failure = (
                f"checkpoint at size {due.size}: the store holds only {index} events: "
                "events were deleted"
            )
    report.events = index
    if report.ok and index > report.logged:
        report.notes.append(f"{index - report.logged} events are not in the log yet")
    report.seconds = time.perf_counter() - started
    if on_progress is not None:
        on_progress(index, total)
    return report


def _mismatch(index: int, row: StoredRow, recorded: tuple[Any, ...]) -> str:
    _, nid, oid, version, _ = recorded
    if (oid, version) == (row.originator_id, row.version):
        return f"leaf {index}: {row.names()} was altered after it was logged"
    return (
        f"leaf {index}: the log recorded aggregate {oid} version {version} (notification "
        f"{nid}) at this place, and the store now has {row.names()}: an event was deleted, "
        "inserted or moved"
    )
