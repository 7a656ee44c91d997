"""`libshare audit`: the verifiable log (ADR 0026) from the command line — its worker, the
log's public key, its latest checkpoint, a witness, and the verification of the whole
history from PostgreSQL."""

from __future__ import annotations

import signal
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from infra.settings import Settings

if TYPE_CHECKING:
    from infra.audit_verify import VerifyReport

audit_cli = typer.Typer(help="The verifiable log: checkpoints, witnesses, verification.")


@audit_cli.command("log")
def run_log() -> None:
    """Append every stored event to the log and sign checkpoints, until stopped."""
    from composition.bootstrap import bootstrap

    stop = _stop_on_signal()
    system = bootstrap(Settings())
    try:
        system.make_audit_log().run(stop)
    finally:
        system.close()


@audit_cli.command("key")
def show_key() -> None:
    """The log's verifier key (name+key id+public key), for auditors and witnesses."""
    from composition.bootstrap import System

    typer.echo(System.signer_of(Settings()).vkey)


@audit_cli.command("checkpoint")
def latest_checkpoint() -> None:
    """The latest signed checkpoint, as a signed note (with the witnesses' cosignatures)."""
    from composition.bootstrap import bootstrap
    from infra.audit_proofs import latest_note

    system = bootstrap(Settings())
    try:
        with system.db.transaction() as conn:
            note = latest_note(conn)
        if note is None:
            typer.echo("no checkpoint yet", err=True)
            raise typer.Exit(1)
        typer.echo(note, nl=False)
    finally:
        system.close()


@audit_cli.command("verify")
def verify(
    checkpoint: Annotated[
        list[Path] | None,
        typer.Option(help="A checkpoint (signed note) held elsewhere, e.g. by a witness."),
    ] = None,
    key: Annotated[
        str | None, typer.Option(help="The log's verifier key (default: this deployment's).")
    ] = None,
    from_kafka: Annotated[
        bool, typer.Option(help="From the topics alone (LIBSHARE_KAFKA_TOPIC_PREFIX), no database.")
    ] = False,
) -> None:
    """Recompute every leaf and checkpoint from the events in PostgreSQL (or on Kafka);
    name the first place that does not match and exit 1."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    from composition.bootstrap import System, bootstrap
    from infra.audit_verify import verify_postgres
    from infra.gc_tuning import tune_gc

    tune_gc()
    settings = Settings()
    vkey = key or System.signer_of(settings).vkey
    trusted = [p.read_text(encoding="utf-8") for p in checkpoint or []]
    if from_kafka:
        from infra.audit_kafka import verify_kafka

        if not settings.kafka_bootstrap_servers:
            raise typer.BadParameter("KAFKA_BOOTSTRAP_SERVERS is not set")
        bootstrap_servers, prefix = settings.kafka_bootstrap_servers, settings.kafka_topic_prefix
        _report(verify_kafka(bootstrap_servers, prefix, vkey, trusted=trusted))
        return
    system = bootstrap(settings)
    try:
        columns = (BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
        with (
            Progress(*columns, transient=True, console=None) as progress,
            system.db.transaction() as events,
            system.db.transaction() as leaves,
        ):
            task = progress.add_task("verifying", total=None)
            report = verify_postgres(
                events,
                leaves,
                vkey,
                trusted=trusted,
                on_progress=lambda seen, total: progress.update(task, completed=seen, total=total),
            )
    finally:
        system.close()
    _report(report)


def _report(report: VerifyReport) -> None:
    typer.echo(
        f"{report.events:,} events, {report.checkpoints} checkpoints checked, "
        f"{report.seconds:.2f} s, {report.events_per_second:,.0f} events/s"
    )
    for note in report.notes:
        typer.echo(note)
    if not report.ok:
        typer.echo(f"MISMATCH: {report.failure}", err=True)
        raise typer.Exit(1)
    typer.echo("the history matches every signed checkpoint")


@audit_cli.command("witness")
def witness(
    name: Annotated[str, typer.Option(help="The witness's key name, e.g. witness.hnm-dt.")],
    state: Annotated[Path, typer.Option(help="Its folder: key, last checkpoint, evidence.")],
    log_key: Annotated[str, typer.Option(help="The log's verifier key it witnesses.")],
    once: Annotated[
        bool, typer.Option(help="Read what the topic holds now, then stop (exit 2 on a fork).")
    ] = False,
) -> None:
    """Cosign every checkpoint that is consistent with the last one this witness saw;
    refuse, and keep the evidence, on any that is not (a forked history)."""
    from composition.bootstrap import System

    settings = Settings()
    if not settings.kafka_bootstrap_servers:
        raise typer.BadParameter("KAFKA_BOOTSTRAP_SERVERS is not set: checkpoints come from it")
    runner = System.witness_of(settings, name, state, log_key)  # no database: Kafka only
    forks = runner.run_until_idle() if once else runner.run(_stop_on_signal())
    if forks:
        held = runner.witness.state_file
        typer.echo(f"FORK: {forks} checkpoint(s) inconsistent with {held}", err=True)
        sys.exit(2)


def _stop_on_signal() -> threading.Event:
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    return stop
