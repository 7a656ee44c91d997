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
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import psycopg

from infra.audit_store import all_leaf_data, row_at
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


def _recorded(conn: psycopg.Connection[Any], lo: int, hi: int) -> bytes:
    """The leaf hashes the log recorded for leaves lo .. hi-1, end to end."""
    row = conn.execute(
        "SELECT string_agg(hash, ''::bytea ORDER BY leaf_index) FROM audit_leaves "
        "WHERE leaf_index >= %s AND leaf_index < %s",
        (lo, hi),
        binary=True,
    ).fetchone()
    return bytes(row[0]) if row and row[0] is not None else b""


def _recorded_at(conn: psycopg.Connection[Any], index: int) -> tuple[Any, ...] | None:
    return conn.execute(
        "SELECT leaf_index, notification_id, originator_id::text, originator_version, hash "
        "FROM audit_leaves WHERE leaf_index = %s",
        (index,),
    ).fetchone()


def verify_postgres(
    events_conn: psycopg.Connection[Any],
    leaves_conn: psycopg.Connection[Any],
    vkey: str,
    *,
    trusted: list[str] | None = None,
    on_progress: Progress | None = None,
) -> VerifyReport:
    """Two connections: one streams the events (a server-side cursor, in a transaction),
    the other reads the recorded leaves and names places."""
    report = VerifyReport()
    started = time.perf_counter()
    checkpoints = _checkpoints(events_conn, vkey, trusted or [], report)
    if checkpoints is None:
        return report
    row = leaves_conn.execute("SELECT count(*) FROM libshare_events").fetchone()
    total = int(row[0]) if row else 0
    row = leaves_conn.execute("SELECT count(*) FROM audit_leaves").fetchone()
    report.logged = int(row[0]) if row else 0
    frontier = Frontier()
    append = frontier.append
    sizes = iter(checkpoints)
    due = next(sizes, None)
    index = 0
    for chunk in all_leaf_data(events_conn):
        hashes = [leaf_hash(data) for data in chunk]
        recorded = _recorded(leaves_conn, index, index + len(hashes))
        ours = b"".join(hashes[: len(recorded) // 32])
        if recorded != ours:
            first = next(
                i for i in range(0, len(ours), 32) if ours[i : i + 32] != recorded[i : i + 32]
            )
            report.failure = _mismatch(leaves_conn, index + first // 32)
            break
        for leaf in hashes:
            append(leaf)
            index += 1
            if due is not None and due.size == index:
                if frontier.root() != due.root:
                    report.failure = (
                        f"checkpoint at size {due.size}: the events up to leaf {index - 1} "
                        "do not give its signed root"
                    )
                    break
                report.checkpoints += 1
                due = next(sizes, None)
        if report.failure:
            break
        if on_progress is not None:
            on_progress(index, total)
    else:
        if report.logged > index:
            report.failure = _missing(leaves_conn, index)
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


def _missing(conn: psycopg.Connection[Any], index: int) -> str:
    recorded = _recorded_at(conn, index)
    assert recorded is not None
    _, nid, oid, version, _ = recorded
    return (
        f"leaf {index}: the log recorded aggregate {oid} version {version} (notification "
        f"{nid}) there, and the store has no event at that place: an event was deleted"
    )


def _mismatch(conn: psycopg.Connection[Any], index: int) -> str:
    recorded, row = _recorded_at(conn, index), row_at(conn, index)
    if recorded is None or row is None:
        return f"leaf {index}: does not match the leaf the log recorded"
    _, nid, oid, version, _ = recorded
    if (oid, version) == (row.originator_id, row.version):
        return f"leaf {index}: {row.names()} was altered after it was logged"
    return (
        f"leaf {index}: the log recorded aggregate {oid} version {version} (notification "
        f"{nid}) at this place, and the store now has {row.names()}: an event was deleted, "
        "inserted or moved"
    )
