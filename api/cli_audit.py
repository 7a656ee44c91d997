"""`libshare audit`: the verifiable log (ADR 0026) from the command line — its worker, the
log's public key, its latest checkpoint, a witness, and the verification of the whole
history from PostgreSQL."""

from __future__ import annotations

import json
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


@audit_cli.command("replay")
def replay_from_kafka(
    from_kafka: Annotated[
        bool, typer.Option("--from-kafka", help="Rebuild from the topics alone (the only way).")
    ] = False,
) -> None:
    """Rebuild every read model from the Kafka topics alone into the schema audit_replay,
    then compare it row for row with the live read models; exit 1 on any difference."""
    from composition.bootstrap import PROJECTIONS, bootstrap, projection_named
    from infra.audit_kafka import read_topics
    from infra.kafka_log import all_topics
    from projections.independent_replay import SCHEMA, in_log_order, replay

    settings = Settings()
    if not from_kafka or not settings.kafka_bootstrap_servers:
        raise typer.BadParameter("--from-kafka, with KAFKA_BOOTSTRAP_SERVERS set")
    records = read_topics(settings.kafka_bootstrap_servers, all_topics(settings.kafka_topic_prefix))
    events = in_log_order([(r.headers, r.value) for batch in records.values() for r in batch])
    system = bootstrap(settings)
    try:
        report = replay(system.db, events, projection_named, list(PROJECTIONS))
    finally:
        system.close()
    typer.echo(
        f"{report.events:,} events replayed into {SCHEMA}, {len(report.tables)} tables "
        f"compared, {report.seconds:.2f} s"
    )
    for t in report.differences:
        typer.echo(
            f"DIFFERENT {t.table}: {t.live} rows live, {t.replayed} replayed; "
            f"{t.only_live_count} only live, {t.only_replayed_count} only replayed",
            err=True,
        )
        for row in t.only_live:
            typer.echo(f"  only live:     {json.dumps(row, ensure_ascii=False)}", err=True)
        for row in t.only_replayed:
            typer.echo(f"  only replayed: {json.dumps(row, ensure_ascii=False)}", err=True)
    if not report.matches:
        raise typer.Exit(1)
    typer.echo("every read model matches its replay from Kafka, row for row")


@audit_cli.command("as-of")
def as_of_view(
    what: Annotated[str, typer.Argument(help="catalogue, requests, statistics or aggregate")],
    at: Annotated[str, typer.Option("--as-of", help="The instant, ISO 8601 with its offset.")],
    library: Annotated[str | None, typer.Option(help="requests: whose queue")] = None,
    aggregate: Annotated[str | None, typer.Option(help="aggregate: its id")] = None,
) -> None:
    """The network as it stood at an instant, as JSON (the read models replayed up to it)."""
    from datetime import UTC, datetime
    from uuid import UUID

    from composition.bootstrap import PROJECTIONS, bootstrap, projection_named
    from infra.aggregate_as_of import state_at, version_at
    from infra.clock import utc_now
    from projections.as_of import build, reading
    from projections.catalogue_search import search
    from projections.requests import queue
    from projections.statistics import monthly

    instant = datetime.fromisoformat(at)
    instant = instant if instant.tzinfo else instant.replace(tzinfo=UTC)
    system = bootstrap(Settings())
    try:
        found: object
        if what == "aggregate":
            if not aggregate:
                raise typer.BadParameter("--aggregate is needed")
            with system.db.transaction() as conn:
                version = version_at(conn, UUID(aggregate), instant)
            found = state_at(system.app, UUID(aggregate), version) if version else None
        else:
            schema = build(
                system.db,
                system.app.mapper,
                projection_named,
                list(PROJECTIONS),
                instant,
                utc_now(),
            )
            with reading(system.db, schema) as conn:
                if what == "catalogue":
                    found = search(conn, None, None, limit=200)
                elif what == "requests":
                    found = queue(conn, (library or "").upper(), "requester", None, 500, 0)
                elif what == "statistics":
                    found = monthly(conn, instant.date().replace(day=1), now=instant)
                else:
                    raise typer.BadParameter(f"nothing called {what!r} to show")
        typer.echo(json.dumps(found, ensure_ascii=False, indent=2, default=str))
    finally:
        system.close()
