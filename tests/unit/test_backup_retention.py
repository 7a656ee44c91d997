"""Retention of scheduled backups: the newest of each of the last N days that have one, and
of each of the last M ISO weeks; backups of the same day give way to the day's newest."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from workers.backups import backup_name, made_at, to_keep


def test_the_newest_of_each_recent_day_and_week_are_kept() -> None:
    start = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)  # a Monday
    # Every 12 hours for 30 days: two backups a day.
    made = [start + timedelta(hours=12 * i) for i in range(60)]
    backups = [(at, Path(backup_name(at))) for at in made]

    keep = to_keep(backups, daily=7, weekly=4)

    kept = sorted(at for at, path in backups if path in keep)
    last_days = sorted({at.date() for at in made})[-7:]
    daily = [max(at for at in made if at.date() == d) for d in last_days]
    assert set(daily) <= set(kept)
    weeks = sorted({at.isocalendar()[:2] for at in made})[-4:]
    weekly = [max(at for at in made if at.isocalendar()[:2] == w) for w in weeks]
    assert set(weekly) <= set(kept)
    assert set(kept) == set(daily) | set(weekly)
    assert len(kept) < len(made) and made[0] not in kept


def test_backup_names_carry_their_instant() -> None:
    at = datetime(2026, 12, 2, 3, 4, 5, tzinfo=UTC)
    assert made_at(Path(backup_name(at))) == at
    assert made_at(Path("libshare-not-a-date.lsbak")) is None
