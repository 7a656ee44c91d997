"""`libshare backup` and `libshare restore` (ADR 0024): a consistent online backup of the
event store, its commands and the deployment's secrets; a restore from one, from the
Kafka topics alone, or as of an instant. Any problem: a clear message, exit status 1."""

from __future__ import annotations

import base64
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from infra.backup_archive import Archive, BackupRefused, Sealing
from infra.settings import Settings

if TYPE_CHECKING:
    from composition.bootstrap import System

PASSPHRASE_ENV = "LIBSHARE_BACKUP_PASSPHRASE"
KeyFile = Annotated[
    Path | None,
    typer.Option(help="A file holding a 32-byte key (base64) instead of a passphrase."),
]


def sealing_from(key_file: Path | None, *, confirm: bool) -> Sealing:
    """The operator's key (a file), or passphrase (LIBSHARE_BACKUP_PASSPHRASE, or asked)."""
    if key_file is not None:
        try:
            return Sealing(key=base64.b64decode(key_file.read_text().strip(), validate=True))
        except (OSError, ValueError) as exc:
            raise BackupRefused(f"the key file {key_file} cannot be used: {exc}") from None
    passphrase = os.environ.get(PASSPHRASE_ENV)
    if passphrase is None:
        passphrase = typer.prompt(
            "Passphrase for the backup's secrets", hide_input=True, confirmation_prompt=confirm
        )
    return Sealing(passphrase=passphrase)


@contextmanager
def progress_bar() -> Iterator[Callable[[str, int, int], None]]:
    """A progress bar per stage: call it with (stage, done, total)."""
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, transient=False) as bar:
        tasks: dict[str, TaskID] = {}

        def update(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=max(total, 1))
            bar.update(tasks[stage], completed=done, total=max(total, done, 1))

        yield update


@contextmanager
def failing_clearly(what: str) -> Iterator[None]:
    """Any problem: one line saying what failed and why, and exit status 1."""
    import psycopg

    try:
        yield
    except BackupRefused as exc:
        typer.echo(f"{what} refused: {exc}", err=True)
        raise typer.Exit(1) from None
    except (psycopg.Error, OSError) as exc:
        typer.echo(f"{what} failed: {exc}", err=True)
        raise typer.Exit(1) from None


def _system() -> System:
    from composition.bootstrap import bootstrap

    return bootstrap(Settings())


def backup(
    target: Annotated[Path, typer.Argument(help="The archive to write (e.g. libshare.lsbak).")],
    key_file: KeyFile = None,
) -> None:
    """Back up the event store, its commands and the deployment's keys and secrets while
    the API serves: one consistent snapshot, the secrets sealed with a passphrase
    (LIBSHARE_BACKUP_PASSPHRASE, or asked) or --key-file."""
    from infra.backup_make import make_backup

    with failing_clearly("backup"):
        if target.exists():
            raise BackupRefused(f"{target} exists already: a backup never overwrites one")
        sealing = sealing_from(key_file, confirm=True)
        system = _system()
        try:
            with progress_bar() as update:
                manifest = make_backup(
                    system.db,
                    system.settings,
                    target,
                    sealing,
                    lambda done, total: update("events", done, total),
                )
        finally:
            system.close()
        ev = manifest["events"]
        typer.echo(
            f"backup written: {target} — {ev['count']} events (highest notification id "
            f"{ev['max_notification_id']}), {manifest['commands']['count']} commands, "
            f"digest {ev['digest']}"
        )


def restore(
    archive: Annotated[
        Path | None, typer.Argument(help="The backup archive (omit with --from-kafka).")
    ] = None,
    from_kafka: Annotated[
        bool, typer.Option("--from-kafka", help="Rebuild the store from the Kafka topics alone.")
    ] = False,
    as_of: Annotated[
        datetime | None,
        typer.Option(
            formats=["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S.%f%z"],
            help="Restore history as of this instant (ISO 8601 with its offset): the "
            "backup and the log after it up to then; recorded as an event.",
        ),
    ] = None,
    reason: Annotated[str | None, typer.Option(help="Why history is cut (with --as-of).")] = None,
    log_prefix: Annotated[
        str | None,
        typer.Option(help="With --as-of: the topic prefix of the log after the backup."),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Empty a store that holds events first.")
    ] = False,
    republish: Annotated[
        bool,
        typer.Option("--republish", help="Relay every restored event again (a new Kafka cluster)."),
    ] = False,
    key_file: KeyFile = None,
    show_keys: Annotated[
        bool, typer.Option("--show-keys", help="Print the backup's keys as settings; write none.")
    ] = False,
) -> None:
    """Restore the event store into an empty store, check it, and rebuild every read model."""
    from composition.restore import restore_archive, restore_at, restore_from_kafka

    with failing_clearly("restore"):
        if as_of is not None and not reason:
            raise BackupRefused("--as-of needs --reason: auditors read why history was cut")
        if from_kafka == (archive is not None):
            raise BackupRefused("give a backup archive, or --from-kafka, one of them")
        if from_kafka and as_of is not None:
            raise BackupRefused("--as-of starts from a backup archive: name one")
        if show_keys:
            assert archive is not None
            _show_keys(archive, sealing_from(key_file, confirm=False))
            return
        sealing = None if from_kafka else sealing_from(key_file, confirm=False)
        system = _system()
        try:
            with progress_bar() as update:
                if from_kafka:
                    report = restore_from_kafka(system, force=force, on_progress=update)
                elif as_of is not None:
                    assert archive is not None and sealing is not None and reason
                    report = restore_at(
                        system,
                        archive,
                        sealing,
                        as_of,
                        reason,
                        log_prefix=log_prefix,
                        force=force,
                        on_progress=update,
                    )
                else:
                    assert archive is not None and sealing is not None
                    report = restore_archive(
                        system,
                        archive,
                        sealing,
                        force=force,
                        republish=republish,
                        on_progress=update,
                    )
        finally:
            system.close()
        typer.echo(
            f"restored from {report.source}: {report.events} events, {report.commands} "
            f"commands (read and checked {report.read_seconds:.2f} s, written "
            f"{report.write_seconds:.2f} s, read models rebuilt {report.rebuild_seconds:.2f} s): "
            f"{report.events_per_second:,.0f} events/s; digest {report.digest}"
        )
        if report.dropped:
            typer.echo(f"history cut at {as_of}: {report.dropped} later events left out")
        for what in report.not_restored:
            typer.echo(f"not restored: {what}")


def _show_keys(path: Path, sealing: Sealing) -> None:
    opened = Archive(path)
    try:
        keys = opened.verify(sealing)["keys"]
    finally:
        opened.close()
    for name, value in sorted(keys.items()):
        typer.echo(f"LIBSHARE_{name.upper()}={value}")


def register(cli: typer.Typer) -> None:
    cli.command()(backup)
    cli.command()(restore)
