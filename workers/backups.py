"""Scheduled backups (ADR 0024): a worker under the supervisor makes a backup into the
configured folder whenever the last good one is older than the interval, and then keeps
the newest backup of each of the last N days and of each of the last M weeks, deleting
the rest. Several processes may run it: an advisory lock lets one back up at a time, and
the backups table (shared) tells the others it is done. /health shows the last good one."""

from __future__ import annotations

import base64
import threading
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TypeVar

import structlog

from infra.backup_archive import Sealing
from infra.backup_log import last_backups, record_backup
from infra.backup_make import make_backup
from infra.database import Database
from infra.settings import Settings

log = structlog.get_logger("libshare.backups")

PATTERN = "libshare-*.lsbak"
RETRY_AFTER_FAILURE = 600.0  # seconds before a failed scheduled backup is tried again


def backup_name(at: datetime) -> str:
    return f"libshare-{at.astimezone(UTC):%Y%m%dT%H%M%S}Z.lsbak"


def made_at(path: Path) -> datetime | None:
    try:
        return datetime.strptime(path.name, "libshare-%Y%m%dT%H%M%SZ.lsbak").replace(tzinfo=UTC)
    except ValueError:
        return None


Period = TypeVar("Period", date, tuple[int, int])


def _newest_per(
    backups: list[tuple[datetime, Path]], period: Callable[[datetime], Period], count: int
) -> set[Path]:
    """The newest backup of each of the `count` newest periods that have one."""
    newest: dict[Period, tuple[datetime, Path]] = {}
    for at, path in backups:
        p = period(at)
        if p not in newest or newest[p][0] < at:
            newest[p] = (at, path)
    return {newest[p][1] for p in sorted(newest, reverse=True)[:count]}


def to_keep(backups: Iterable[tuple[datetime, Path]], daily: int, weekly: int) -> set[Path]:
    """The newest backup of each of the `daily` newest days that have one, and of each
    of the `weekly` newest ISO weeks that have one."""
    found = list(backups)

    def week(at: datetime) -> tuple[int, int]:
        iso = at.isocalendar()
        return (iso.year, iso.week)

    return _newest_per(found, lambda at: at.date(), daily) | _newest_per(found, week, weekly)


class BackupSchedule:
    def __init__(self, db: Database, settings: Settings, clock: Callable[[], datetime]) -> None:
        assert settings.backup_dir is not None, "LIBSHARE_BACKUP_DIR is not set"
        self.db = db
        self.settings = settings
        self.folder: Path = settings.backup_dir
        self.every = settings.backup_every_hours * 3600
        self.clock = clock
        key = settings.backup_key
        self.sealing = Sealing(
            passphrase=None if key else settings.backup_passphrase,
            key=base64.b64decode(key) if key else None,
        )

    def due(self) -> bool:
        last = last_backups(self.db)
        good, attempt = last["last_good"], last["last_attempt"]
        if attempt is not None and not attempt["ok"] and attempt["age_s"] < RETRY_AFTER_FAILURE:
            return False
        return good is None or good["age_s"] >= self.every

    def run_once(self) -> Path | None:
        """Back up if due (and no other process is backing up); then prune."""
        with self.db.connect(autocommit=True) as conn:
            row = conn.execute("SELECT pg_try_advisory_lock(hashtext('libshare-backups'))")
            if not (got := row.fetchone()) or not got[0]:
                return None
            if not self.due():
                return None
            target = self.folder / backup_name(self.clock())
            try:
                self.folder.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                record_backup(self.db, target, error=repr(exc))
                raise
            manifest = make_backup(self.db, self.settings, target, self.sealing)
            log.info("backup made", path=str(target), events=manifest["events"]["count"])
        self.prune()
        return target

    def prune(self) -> list[Path]:
        found = [(at, p) for p in self.folder.glob(PATTERN) if (at := made_at(p)) is not None]
        keep = to_keep(found, self.settings.backup_keep_daily, self.settings.backup_keep_weekly)
        gone = [p for _, p in found if p not in keep]
        for path in gone:
            path.unlink(missing_ok=True)
            log.info("backup deleted by retention", path=str(path))
        return gone

    def run(self, stop: threading.Event, check_every: float = 60.0) -> None:
        """Until stopped: look every `check_every` seconds whether a backup is due. A
        failure is logged (and recorded: /health shows it); the loop goes on."""
        while not stop.is_set():
            try:
                self.run_once()
            except Exception as exc:
                log.error("scheduled backup failed", error=repr(exc))
            stop.wait(min(check_every, self.every))
