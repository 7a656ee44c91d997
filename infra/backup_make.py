"""Making a backup (ADR 0024): the store read in one snapshot while commands go on, written
as an archive (infra/backup_archive.py), its secrets sealed with the operator's
passphrase or key; each attempt, good or not, recorded for /health."""

from __future__ import annotations

import base64
import contextlib
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from infra.backup_archive import ArchiveWriter, Sealing, encode_key, seal
from infra.backup_log import record_backup
from infra.backup_store import Snapshot
from infra.database import Database
from infra.partner_secrets import load_key
from infra.settings import Settings

Progress = Callable[[int, int], None]
# The deployment's keys: the setting that holds each, and its development key file.
KEYS = {
    "secrets_key": "secrets.key",
    "reader_data_key": "reader-data.key",
    "token_key": "token.key",
}


def deployment_keys(settings: Settings) -> dict[str, str]:
    """The keys this deployment uses (from settings, or the development key files)."""
    keys = {
        name: encode_key(load_key(getattr(settings, name), settings.data_dir, filename))
        for name, filename in KEYS.items()
    }
    if settings.viewer_link_key:
        keys["viewer_link_key"] = encode_key(base64.b64decode(settings.viewer_link_key))
    return keys


def make_backup(
    db: Database,
    settings: Settings,
    target: Path,
    sealing: Sealing,
    on_progress: Progress | None = None,
) -> dict[str, Any]:
    """Write a backup of the store to `target`; returns its manifest. Raises on any
    problem, leaving no file at `target` (and records the failure)."""
    started = time.perf_counter()
    writer = ArchiveWriter(target)
    try:
        keys = deployment_keys(settings)
        with Snapshot(db.url) as snap:
            total, relayed = snap.count_events(), snap.relayed()
            checkpoint = snap.checkpoint()

            def counted() -> Any:
                for n, row in enumerate(snap.events(), 1):
                    if on_progress is not None and n % 5000 == 0:
                        on_progress(n, total)
                    yield row

            events = writer.write_events(counted())
            commands = writer.write_commands(snap.commands())
            tables = snap.secret_tables()
        sealed, params = seal({"keys": keys, "tables": tables}, sealing)
        writer.write_secrets(sealed)
        manifest = writer.finish(
            {
                "created_at": datetime.now(UTC).isoformat(),
                "events": {**events.summary(), "relayed": relayed},
                "checkpoint": checkpoint,
                "commands": commands,
                "secrets": {
                    **params,
                    "keys": sorted(keys),
                    "tables": {name: len(rows) for name, rows in tables.items()},
                },
            }
        )
    except BaseException as exc:
        writer.discard()
        # The database may be what failed: the error is raised either way.
        with contextlib.suppress(Exception):
            record_backup(db, target, seconds=time.perf_counter() - started, error=repr(exc))
        raise
    if on_progress is not None:
        on_progress(events.count, events.count)
    record_backup(db, target, manifest=manifest, seconds=time.perf_counter() - started)
    return manifest
