"""Restoring the event store (ADR 0024): from a backup archive, from the Kafka topics
alone, or as of an instant (a backup and the log after it, cut there). Each writes into an
empty store (it refuses one that holds events unless forced), keeps the log's order,
puts the relay's position where Kafka already has the events, and then rebuilds every
read model from the restored log. Whatever fails after writing began, what was written is
taken away again: the store is restored whole or left empty."""

from __future__ import annotations

import base64
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psycopg

from infra.backup_archive import Archive, BackupRefused, EventRow, Sealing, digest_of
from infra.backup_make import KEYS
from infra.backup_store import (
    nonempty_tables,
    wipe,
    write_commands,
    write_events,
    write_secret_tables,
)
from infra.kafka_history import check_whole, read_history
from workers.relay import RELAY_DDL

if TYPE_CHECKING:
    from composition.bootstrap import System

Progress = Callable[[str, int, int], None]  # (stage, done, total)


@dataclass
class RestoreReport:
    source: str
    events: int
    digest: str
    transactions: int = 0
    commands: int = 0
    secrets: dict[str, int] = field(default_factory=dict)
    read_seconds: float = 0.0  # checking the archive, or reading the topics
    write_seconds: float = 0.0
    rebuild_seconds: float = 0.0
    rebuilt: dict[str, float] = field(default_factory=dict)  # projection -> events/s
    dropped: int = 0  # events after the instant of a point-in-time restore
    not_restored: list[str] = field(default_factory=list)

    @property
    def seconds(self) -> float:
        return self.read_seconds + self.write_seconds + self.rebuild_seconds

    @property
    def events_per_second(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else float("inf")


def _refuse_unless_empty(system: System, force: bool) -> None:
    with psycopg.connect(system.db.url) as conn:
        found = nonempty_tables(conn)
        if found and not force:
            raise BackupRefused(
                f"the store is not empty ({', '.join(found)} hold rows): a restore writes "
                "only into an empty store; --force empties it first"
            )
        if found:
            wipe(conn)
            conn.commit()


def _check_keys(system: System, keys: dict[str, str]) -> None:
    """A key set in the environment must be the backup's: the tables it protects are."""
    for name, value in keys.items():
        configured = getattr(system.settings, name, None)
        if configured and base64.b64decode(configured) != base64.b64decode(value):
            raise BackupRefused(
                f"LIBSHARE_{name.upper()} is set to another key than the backup's: set it to "
                "the backup's (libshare restore --show-keys) or unset it to use the backup's"
            )


def _write_keys(system: System, keys: dict[str, str]) -> None:
    """The backup's keys, where the deployment reads them when its settings name none."""
    data_dir = system.settings.data_dir
    for name, filename in KEYS.items():
        if name in keys and not getattr(system.settings, name):
            data_dir.mkdir(parents=True, exist_ok=True)
            path = data_dir / filename
            path.write_bytes(keys[name].encode())
            path.chmod(0o600)


def _set_relay_position(system: System, position: tuple[int, int], relayed: int) -> None:
    with system.db.transaction() as conn:
        conn.execute("SELECT pg_advisory_xact_lock(hashtext('libshare-relay-setup'))")
        conn.execute(RELAY_DDL)
        conn.execute(
            "INSERT INTO relay_positions (relay, xid, notification_id, relayed) "
            "VALUES ('kafka', %s, %s, %s) ON CONFLICT (relay) DO UPDATE SET xid = EXCLUDED.xid, "
            "notification_id = EXCLUDED.notification_id, relayed = EXCLUDED.relayed, "
            "updated_at = now()",
            (position[0], position[1], relayed),
        )


def _rebuild_all(system: System, report: RestoreReport, on_progress: Progress | None) -> None:
    from composition.bootstrap import PROJECTIONS

    started = time.perf_counter()
    for name in PROJECTIONS:

        def progress(done: int, total: int, stage: str = f"rebuild {name}") -> None:
            if on_progress is not None:
                on_progress(stage, done, total)

        report.rebuilt[name] = round(system.rebuild(name, progress).events_per_second)
    report.rebuild_seconds = time.perf_counter() - started


def _counted(
    rows: Iterable[EventRow], total: int, on_progress: Progress | None
) -> Iterator[EventRow]:
    for n, row in enumerate(rows, 1):
        if on_progress is not None and n % 5000 == 0:
            on_progress("write events", n, total)
        yield row


def _write(
    system: System,
    rows: Iterable[EventRow],
    report: RestoreReport,
    *,
    relayed: int,
    total: int,
    on_progress: Progress | None,
    also: Callable[[psycopg.Connection[Any]], None] | None = None,
) -> None:
    """Write the events (and, with `also`, the rest) into the emptied store, or nothing."""
    started = time.perf_counter()
    with psycopg.connect(system.db.url) as conn:
        try:
            written = write_events(conn, _counted(rows, total, on_progress), mark=relayed)
            if also is not None:
                also(conn)
        except BaseException:
            conn.rollback()
            wipe(conn)
            conn.commit()
            raise
    report.transactions = written.transactions
    report.write_seconds = time.perf_counter() - started
    _set_relay_position(system, written.mark, relayed)
    if on_progress is not None:
        on_progress("write events", written.events, written.events)


def restore_archive(
    system: System,
    path: Path,
    sealing: Sealing,
    *,
    force: bool = False,
    republish: bool = False,
    on_progress: Progress | None = None,
) -> RestoreReport:
    """Restore a backup archive into the (empty) store, then rebuild the read models.
    The relay goes on after what it had published when the backup was made; with
    `republish` (a new Kafka cluster), from the first event."""
    started = time.perf_counter()
    archive = Archive(path)
    try:
        secrets = archive.verify(sealing)  # before anything is written
        _check_keys(system, secrets["keys"])
        _refuse_unless_empty(system, force)
        manifest = archive.manifest
        report = RestoreReport("backup", manifest["events"]["count"], manifest["events"]["digest"])
        report.read_seconds = time.perf_counter() - started

        def rest(conn: psycopg.Connection[Any]) -> None:
            report.commands = write_commands(conn, archive.commands())
            report.secrets = write_secret_tables(conn, secrets["tables"])

        _write(
            system,
            archive.events(),
            report,
            relayed=0 if republish else manifest["events"].get("relayed", 0),
            total=report.events,
            on_progress=on_progress,
            also=rest,
        )
        _write_keys(system, secrets["keys"])
    finally:
        archive.close()
    _rebuild_all(system, report, on_progress)
    return report


def restore_from_kafka(
    system: System, *, force: bool = False, on_progress: Progress | None = None
) -> RestoreReport:
    """Rebuild the store from the deployment's Kafka topics alone, then the read models."""
    s = system.settings
    if not s.kafka_bootstrap_servers:
        raise BackupRefused("KAFKA_BOOTSTRAP_SERVERS is not set: there is no log to restore from")
    started = time.perf_counter()
    rows = read_history(
        s.kafka_bootstrap_servers,
        s.kafka_topic_prefix,
        s.kafka_client_id,
        (lambda d, t: on_progress("read kafka", d, t)) if on_progress else None,
    )
    _refuse_unless_empty(system, force)
    digest = digest_of(rows).summary()
    report = RestoreReport("kafka", len(rows), digest["digest"])
    report.read_seconds = time.perf_counter() - started
    report.not_restored = [
        "the commands' idempotency records (a retried command runs again)",
        "the readers' data keys (personal data stays sealed)",
        "partners' webhook secrets, passwords and API keys",
    ]
    _write(system, rows, report, relayed=len(rows), total=len(rows), on_progress=on_progress)
    _rebuild_all(system, report, on_progress)
    return report


def cut_at(rows: Iterable[EventRow], as_of: datetime) -> tuple[list[EventRow], int]:
    """The events of the transactions recorded at or before `as_of` (a transaction's
    events are consecutive in log order and kept or dropped together); and how many
    were dropped."""
    kept: list[EventRow] = []
    dropped = 0
    group: list[EventRow] = []

    def close() -> None:
        nonlocal dropped
        if group and max(datetime.fromisoformat(r.recorded_at) for r in group) <= as_of:
            kept.extend(group)
        else:
            dropped += len(group)
        group.clear()

    for row in rows:
        if group and row.xid != group[-1].xid:
            close()
        group.append(row)
    close()
    check_whole(kept)
    return kept, dropped


def restore_at(
    system: System,
    path: Path,
    sealing: Sealing,
    as_of: datetime,
    reason: str,
    *,
    log_prefix: str | None = None,
    force: bool = False,
    on_progress: Progress | None = None,
) -> RestoreReport:
    """History as of `as_of`: the backup, and the log after it from the topics of
    `log_prefix` (when Kafka is configured), cut at the instant; the cut recorded as an
    event. The cut history is a new log: it is relayed to topics of its own (the
    deployment's prefix must differ from `log_prefix`), the old ones keep what was cut."""
    from domain.access import RESTORE
    from services.commands import CutHistory

    s = system.settings
    log_prefix = log_prefix or s.kafka_topic_prefix
    if s.kafka_bootstrap_servers and log_prefix == s.kafka_topic_prefix:
        raise BackupRefused(
            "a history cut needs topics of its own: set LIBSHARE_KAFKA_TOPIC_PREFIX to a new "
            f"prefix and name the old one with --log-prefix (now both are {log_prefix!r})"
        )
    started = time.perf_counter()
    archive = Archive(path)
    try:
        secrets = archive.verify(sealing)  # before anything is written
        _check_keys(system, secrets["keys"])
        backed_up = list(archive.events())
        later: list[EventRow] = []
        if s.kafka_bootstrap_servers:
            later = read_history(
                s.kafka_bootstrap_servers,
                log_prefix,
                s.kafka_client_id,
                (lambda d, t: on_progress("read kafka", d, t)) if on_progress else None,
                known={(r.originator_id, r.originator_version) for r in backed_up},
            )
        rows, dropped = cut_at([*backed_up, *later], as_of)
        _refuse_unless_empty(system, force)
        report = RestoreReport("backup and log" if later else "backup", len(rows), "")
        report.digest = digest_of(rows).summary()["digest"]
        report.dropped = dropped
        report.read_seconds = time.perf_counter() - started
        report.not_restored = ["the idempotency records of commands made after the backup"]
        commands = [c for c in archive.commands() if datetime.fromisoformat(c[3]) <= as_of]

        def rest(conn: psycopg.Connection[Any]) -> None:
            report.commands = write_commands(conn, commands)
            report.secrets = write_secret_tables(conn, secrets["tables"])

        # relayed=0: the relay publishes the cut history to the new topics from the start.
        _write(system, rows, report, relayed=0, total=len(rows), on_progress=on_progress, also=rest)
        _write_keys(system, secrets["keys"])
    finally:
        archive.close()
    system.entry.act(
        RESTORE,
        CutHistory(
            as_of, reason, len(rows), dropped, report.digest, archive.manifest["events"]["digest"]
        ),
    )
    report.events += 1  # the cut's own event
    _rebuild_all(system, report, on_progress)
    return report
