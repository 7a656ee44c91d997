"""A backup restored into an empty store, on another database with other key files (as on
another machine), gives back every event in its order, every read model row for row,
every aggregate with its personal data, and every command's first result; a corrupted or
truncated backup, or a wrong passphrase, is refused before anything is written; a store
that holds events is refused unless forced."""

from __future__ import annotations

import base64
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest

from composition.bootstrap import System
from composition.restore import restore_archive
from infra.backup_archive import Archive, ArchiveWriter, BackupRefused, Sealing, seal
from infra.backup_log import last_backups
from infra.backup_make import make_backup
from infra.backup_store import Snapshot, nonempty_tables
from tests.actors import TESTER
from tests.integration.backup_support import (
    PASSPHRASE,
    MakeSystem,
    aggregates,
    another_database,
    event_bodies,
    event_count,
    make_history,
    read_models,
)

SEALING = Sealing(passphrase=PASSPHRASE)


def test_a_restored_store_is_the_backed_up_one_row_for_row(
    make_system: MakeSystem, pg_server_url: str, tmp_path: Path
) -> None:
    lost = make_system(data_dir=tmp_path / "lost")
    first = make_history(lost)
    before = (event_bodies(lost), read_models(lost), aggregates(lost))
    archive = tmp_path / "network.lsbak"

    manifest = make_backup(lost.db, lost.settings, archive, SEALING)

    assert manifest["events"]["count"] == len(before[0])
    assert last_backups(lost.db)["last_good"]["digest"] == manifest["events"]["digest"]
    with another_database(pg_server_url) as url:
        target = make_system(database_url=url, data_dir=tmp_path / "new")
        report = restore_archive(target, archive, SEALING)
        assert report.events == len(before[0]) and report.commands == len(first)
        assert report.digest == manifest["events"]["digest"]
        # Started again on the restored store (it reads the restored key files).
        back = make_system(database_url=url, data_dir=tmp_path / "new")
        assert event_bodies(back) == before[0]
        assert read_models(back) == before[1]
        restored = aggregates(back)
        assert restored == before[2]
        names = [(a.get("personal") or {}).get("name") for a in restored.values()]
        assert "Nguyễn Thị Hoa" in names  # the reader's data key came back with the backup
        for key, result in first.items():
            requester = key.rsplit("-", 1)[0]
            again = back.requests.request_item(
                TESTER, requester=requester, work="W-KIEU", reader_ref=f"BD-{key[-1]}",
                client_request_id=key, now=datetime.now(UTC),
            )  # fmt: skip
            assert again.pop("replayed") is True and again == result  # the first result
        assert event_count(url) == len(before[0])  # the retries added nothing


def test_a_corrupted_truncated_or_wrongly_sealed_backup_is_refused_before_writing(
    make_system: MakeSystem, pg_server_url: str, tmp_path: Path
) -> None:
    lost = make_system(data_dir=tmp_path / "lost")
    make_history(lost, rounds=1)
    archive = tmp_path / "network.lsbak"
    make_backup(lost.db, lost.settings, archive, SEALING)
    data = archive.read_bytes()
    flipped = bytearray(data)
    flipped[len(data) // 3] ^= 0x01
    broken = {
        "corrupted": bytes(flipped),
        "truncated": data[: len(data) // 2],
        "empty": b"",
    }
    with another_database(pg_server_url) as url:
        target = make_system(database_url=url, data_dir=tmp_path / "new")
        for name, content in broken.items():
            bad = tmp_path / f"{name}.lsbak"
            bad.write_bytes(content)
            with pytest.raises(BackupRefused):
                restore_archive(target, bad, SEALING)
            assert event_count(url) == 0, name
        with pytest.raises(BackupRefused, match="do not open"):
            restore_archive(target, archive, Sealing(passphrase="not the passphrase"))
        assert event_count(url) == 0


def test_a_store_that_holds_events_is_refused_unless_forced(
    make_system: MakeSystem, tmp_path: Path
) -> None:
    system = make_system(data_dir=tmp_path / "lost")
    make_history(system, rounds=1)
    archive = tmp_path / "network.lsbak"
    make_backup(system.db, system.settings, archive, SEALING)
    before = event_bodies(system)
    system.catalogue.register_library(TESTER, "HNM-NEW", "Thư viện mới", "school", "Phủ Lý")
    with pytest.raises(BackupRefused, match="not empty"):
        restore_archive(system, archive, SEALING)
    assert len(event_bodies(system)) == len(before) + 1
    restore_archive(system, archive, SEALING, force=True)
    assert event_bodies(system) == before


def test_a_backup_reads_the_store_as_of_one_instant(
    make_system: MakeSystem, tmp_path: Path
) -> None:
    """What commits while the backup reads is not in it, in any table: the events and the
    commands come from the same instant."""
    system = make_system(data_dir=tmp_path / "lost")
    make_history(system, rounds=1)
    with Snapshot(system.db.url) as snap:
        events, commands = snap.count_events(), len(list(snap.commands()))
        now = datetime.now(UTC)
        system.requests.request_item(
            TESTER, requester="HNM-S-BH", work="W-KIEU", reader_ref="BD-9",
            client_request_id="during-the-backup", now=now,
        )  # fmt: skip
        assert len(list(snap.events())) == events
        assert len(list(snap.commands())) == commands
        with system.db.transaction() as conn:
            row = conn.execute(
                "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a USING (pid) "
                "WHERE a.backend_xid IS NOT NULL AND a.pid <> pg_backend_pid() "
                "AND a.datname = current_database()"
            ).fetchone()
        assert row == (0,), "the backup holds no transaction id: the readers go on"
    assert event_count(system.db.url) > events


def test_a_restore_that_fails_while_writing_leaves_the_store_empty(
    make_system: MakeSystem, pg_server_url: str, tmp_path: Path
) -> None:
    """An archive whose manifest is right but whose events cannot all be stored (the same
    aggregate version twice, in a later transaction than the first events): what was
    written is taken away again, commands and secrets included."""
    lost = make_system(data_dir=tmp_path / "lost")
    make_history(lost, rounds=1)
    good = tmp_path / "good.lsbak"
    make_backup(lost.db, lost.settings, good, SEALING)
    archive = Archive(good)
    secrets = archive.verify(SEALING)
    rows = list(archive.events())
    commands = list(archive.commands())
    archive.close()
    first, second = rows[-1], rows[-2]
    # The last event again (a new id), after a lower id: a second transaction fails.
    broken_rows = [*rows, replace(second, notification_id=second.notification_id - 1)]
    broken_rows.append(replace(first, notification_id=first.notification_id + 100))
    bad = tmp_path / "bad.lsbak"
    writer = ArchiveWriter(bad)
    events = writer.write_events(broken_rows)
    sealed, params = seal(secrets, SEALING)
    writer.write_secrets(sealed)
    writer.write_commands(commands)
    writer.finish(
        {
            "events": {**events.summary(), "relayed": 0},
            "commands": {"count": len(commands)},
            "secrets": params,
        }
    )
    with another_database(pg_server_url) as url:
        target = make_system(database_url=url, data_dir=tmp_path / "new")
        with pytest.raises(psycopg.errors.UniqueViolation):
            restore_archive(target, bad, SEALING)
        with psycopg.connect(url) as conn:
            assert nonempty_tables(conn) == []


def _latest_checkpoint(system: System) -> tuple[int, bytes, str]:
    with system.db.transaction() as conn:
        row = conn.execute(
            "SELECT size, root, note FROM audit_checkpoints ORDER BY size DESC LIMIT 1"
        ).fetchone()
    assert row is not None, "no checkpoint signed"
    return int(row[0]), bytes(row[1]), str(row[2])


def test_the_manifest_names_the_logs_checkpoint_and_the_restored_log_reaches_its_root(
    make_system: MakeSystem, pg_server_url: str, tmp_path: Path
) -> None:
    """Where the verifiable log has signed a checkpoint (ADR 0026), the backup's manifest
    holds it; the restored store, logged again, has the same root at that size: the
    history restored is the history the witnesses saw."""
    key = base64.b64encode(bytes(range(32))).decode()
    lost = make_system(data_dir=tmp_path / "lost", audit_signing_key=key)
    make_history(lost)
    log = lost.make_audit_log()
    log.run_once()
    log.checkpoint()
    size, root, note = _latest_checkpoint(lost)
    archive = tmp_path / "network.lsbak"
    manifest = make_backup(lost.db, lost.settings, archive, SEALING)
    assert manifest["checkpoint"] == {"size": size, "note": note}
    with another_database(pg_server_url) as url:
        target = make_system(database_url=url, data_dir=tmp_path / "new", audit_signing_key=key)
        restore_archive(target, archive, SEALING)
        back = make_system(database_url=url, data_dir=tmp_path / "new", audit_signing_key=key)
        again = back.make_audit_log()
        again.run_once()
        again.checkpoint()
        assert _latest_checkpoint(back)[:2] == (size, root)
