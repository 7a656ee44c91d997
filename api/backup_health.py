"""/health's line on backups (ADR 0024): when the last good backup was made, and the last
attempt; a reason to say "degraded" when scheduled backups fail or fall behind."""

from __future__ import annotations

from typing import Any

from composition.bootstrap import System
from infra.backup_log import last_backups


def backup_health(sys: System) -> tuple[dict[str, Any], str | None]:
    s = sys.settings
    last = last_backups(sys.db)
    good, attempt = last["last_good"], last["last_attempt"]
    line: dict[str, Any] = {
        "scheduled": s.backup_dir is not None,
        "last_good": good,
        "last_attempt": attempt,
        "summary": (
            f"last good backup {good['made_at']} ({good['age_s'] / 3600:.1f} h ago), "
            f"{good['events']} events"
            if good
            else "no good backup yet"
        ),
    }
    reason = None
    if s.backup_dir is not None:
        if attempt is not None and not attempt["ok"]:
            reason = f"the last backup failed: {attempt['error']}"
        elif good is not None and good["age_s"] > 2 * s.backup_every_hours * 3600:
            reason = f"the last good backup is {good['age_s'] / 3600:.0f} h old"
    return line, reason
