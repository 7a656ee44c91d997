"""The `libshare` command."""

from __future__ import annotations

import json
import signal
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import structlog
import typer

from api import cli_backup
from api.cli_accounts import accounts_cli
from api.cli_audit import audit_cli
from api.cli_catalogue import catalogue_cli
from api.cli_stock import stock_cli
from infra.heartbeats import Heartbeat
from infra.settings import ProjectionSource, Settings

if TYPE_CHECKING:
    from composition.bootstrap import System

log = structlog.get_logger("libshare.cli")

cli = typer.Typer(
    help="libshare: the province's library-sharing network, event-sourced.\n\n"
    "Configuration comes from the environment: DATABASE_URL (unset: an embedded PostgreSQL "
    "under LIBSHARE_DATA_DIR), KAFKA_BOOTSTRAP_SERVERS (unset: no Kafka, projections read "
    "the event store's notification log), and LIBSHARE_* settings.",
    no_args_is_help=True,
    add_completion=False,
)
demo_cli = typer.Typer(help="The demo network.", no_args_is_help=True)
events_cli = typer.Typer(help="The event contract.", no_args_is_help=True)
projections_cli = typer.Typer(help="Read models and their projections.", no_args_is_help=True)
cli.add_typer(demo_cli, name="demo")
cli.add_typer(events_cli, name="events")
cli.add_typer(projections_cli, name="projections")
cli.add_typer(accounts_cli, name="accounts")
cli.add_typer(stock_cli, name="stock")
cli.add_typer(audit_cli, name="audit")
cli.add_typer(catalogue_cli, name="catalogue")
cli_backup.register(cli)  # backup, restore (ADR 0024)


def _wait_for_signal() -> threading.Event:
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    return stop


def _worker_system(settings: Settings, stop: threading.Event) -> System | None:
    """The composition root for a worker process: while PostgreSQL is not there yet, wait
    (logged, at most 10 s between attempts) for as long as it takes, not a minute and out.
    None if stopped meanwhile."""
    from tenacity import Retrying, retry_if_exception, stop_when_event_set
    from tenacity import wait_exponential_jitter as jitter

    from composition.bootstrap import bootstrap

    for attempt in Retrying(
        retry=retry_if_exception(_database_away),
        wait=jitter(multiplier=0.5, max=10),
        stop=stop_when_event_set(stop),
        before_sleep=lambda s: log.warning(
            "worker waits for the database",
            attempt=s.attempt_number,
            error=repr(s.outcome.exception()) if s.outcome else None,
        ),
        retry_error_callback=lambda _: None,
    ):
        with attempt:
            return bootstrap(settings)
    return None


def _database_away(exc: BaseException) -> bool:
    """A connection that failed because the server is not there (yet): worth waiting for.
    A wrong password, a missing database or a bad setting is not: the process exits."""
    import eventsourcing.persistence as es
    import psycopg

    away = (psycopg.OperationalError, psycopg.InterfaceError, es.OperationalError, OSError)
    if not isinstance(exc, away):
        return False
    text = str(exc).lower()
    return not any(p in text for p in ("authentication failed", "does not exist", "invalid"))


@cli.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to listen on.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on.")] = None,
    workers: Annotated[
        bool, typer.Option(help="Also run the relay and the projector in this process.")
    ] = True,
) -> None:
    """Serve the API and the librarians' web UI (http://127.0.0.1:8000 by default)."""
    import uvicorn

    from api.app import create_app
    from api.tls import server_options

    settings = Settings()
    settings.run_workers = workers and settings.run_workers
    uvicorn.run(
        create_app(settings),
        host=host or settings.host,
        port=port or settings.port,
        log_config=None,
        access_log=False,
        **server_options(settings),
    )


@cli.command()
def relay() -> None:
    """Relay every stored event to Kafka, in order per aggregate, until stopped."""
    from infra.gc_tuning import tune_gc

    tune_gc()
    settings = Settings()
    if not settings.kafka_bootstrap_servers:
        raise typer.BadParameter("KAFKA_BOOTSTRAP_SERVERS is not set: there is nothing to relay to")
    stop = _wait_for_signal()
    system = _worker_system(settings, stop)
    if system is None:
        return
    try:
        system.make_relay().run(stop)
    finally:
        system.close()


@cli.command()
def projector(
    source: Annotated[
        ProjectionSource, typer.Option(help="Where events come from (auto: Kafka if configured).")
    ] = ProjectionSource.AUTO,
) -> None:
    """Keep the read models up to date from Kafka or the notification log, until stopped."""
    from infra.gc_tuning import tune_gc

    tune_gc()
    settings = Settings()
    if source is ProjectionSource.AUTO:
        source = settings.effective_projection_source()
    stop = _wait_for_signal()
    system = _worker_system(settings, stop)
    if system is None:
        return
    try:
        runner = system.make_runner()
        src = (
            system.make_kafka_source()
            if source is ProjectionSource.KAFKA
            else system.make_log_source()
        )
        runner.run(src, stop, heartbeat=Heartbeat(system.db, "projector"))
    finally:
        system.close()


@cli.command()
def timers(
    interval: Annotated[float, typer.Option(help="Seconds between rounds.")] = 60.0,
) -> None:
    """Run the timers (answer time-outs, overdue loans, reminders) until stopped."""

    stop = _wait_for_signal()
    system = _worker_system(Settings(), stop)
    if system is None:
        return
    try:
        system.timers().run(stop, interval)
    finally:
        system.close()


@cli.command("iso-outbox")
def iso_outbox() -> None:
    """Send ISO 18626 messages to outside peers from the event log, until stopped."""

    stop = _wait_for_signal()
    system = _worker_system(Settings(), stop)
    if system is None:
        return
    try:
        system.make_iso_outbox().run(stop, system.settings.iso18626_outbox_interval_seconds)
    finally:
        system.close()


@demo_cli.command("load")
def demo_load() -> None:
    """Register the demo network and its demo accounts through commands (idempotent)."""
    from composition.bootstrap import bootstrap
    from composition.demo_network import load_demo, load_demo_accounts

    system = bootstrap(Settings())
    try:
        created = load_demo(system)
        typer.echo(f"demo network loaded: {created} new libraries")
        typer.echo(load_demo_accounts(system))
    finally:
        system.close()


@demo_cli.command("reorganise")
def demo_reorganise() -> None:
    """The 2025 reorganisation on the demo network: Hà Nam moves into Ninh Bình and two
    district libraries merge (idempotent); prints the registry before and after."""
    from composition.bootstrap import bootstrap
    from composition.demo_network import demo_network
    from composition.demo_reorganisation import (
        AFTER,
        BEFORE,
        NINH_BINH,
        registry_lines,
        reorganise_demo,
    )

    system = bootstrap(Settings())
    try:
        codes = [lib["code"] for lib in demo_network()["libraries"]]
        missing = [c for c in codes if not system.catalogue.exists(c)]
        if missing:
            raise typer.BadParameter("load the demo network first: libshare demo load")
        # The merge finds open requests and staff in the read models (kept by `serve` or
        # `libshare projector`); their tables exist even if no projector ran yet.
        system.make_runner()
        result = reorganise_demo(system, codes)
        shown = [*codes, NINH_BINH.code]
        typer.echo(f"Trước ({BEFORE.isoformat()}), GET /libraries?as_of={BEFORE.isoformat()}:")
        typer.echo("\n".join(registry_lines(system, shown, BEFORE)))
        typer.echo(f"Sau ({AFTER.isoformat()}), GET /libraries?as_of={AFTER.isoformat()}:")
        typer.echo("\n".join(registry_lines(system, shown, AFTER)))
        moved = result["moved"]
        typer.echo(
            f"{result['code']} -> {result['merged_into']}: moved {moved.get('requests', 0)} "
            f"open requests, {moved.get('accounts', 0)} accounts (0 on a repeat)"
        )
    finally:
        system.close()


@events_cli.command("doc")
def events_doc(
    output: Annotated[Path, typer.Option(help="Where to write the Markdown.")] = Path(
        "docs/events.md"
    ),
) -> None:
    """Write docs/events.md: every event type, its version and fields, from the code."""
    from infra.events_doc import render_events_doc

    output.write_text(render_events_doc(), encoding="utf-8")
    typer.echo(f"wrote {output}")


@projections_cli.command("list")
def projections_list() -> None:
    """The projections (tables, events handled, lag, whether moving), the relay's backlog,
    the workers' heartbeats, and whether the log is healthy (as /health says)."""
    from api.health import report
    from composition.bootstrap import all_projections, bootstrap

    system = bootstrap(Settings())
    try:
        r = report(system)
    finally:
        system.close()
    for p in all_projections():
        info = r.projections.get(p.name, {})
        state = "stalled" if info.get("stalled") else "moving" if info.get("lag") else "caught up"
        typer.echo(
            f"{p.name}: lag {info.get('lag', '?')} ({state}), seen {info.get('seen', 0)}, "
            f"parked {info.get('parked', 0)}; tables {', '.join(p.tables)}; "
            f"handles {', '.join(sorted(p.handles))}"
        )
    if r.relay is not None:
        age = r.relay["oldest_unpublished_age_s"]
        typer.echo(
            f"relay: {r.relay['unpublished']} events not yet on Kafka"
            + (f", the oldest {age:.0f} s old" if age is not None else "")
        )
    for w in r.workers:
        typer.echo(
            f"{w['kind']} {w['worker']}: last beat {w['beat_age_s']:.0f} s ago"
            f"{'' if w['alive'] else ' (frozen or gone)'}, kafka_ok {w['kafka_ok']}, "
            f"progress {w['progress']}"
        )
    typer.echo(f"status: {r.status}" + "".join(f"\n  - {reason}" for reason in r.reasons))


@projections_cli.command("parked")
def projections_parked(
    name: Annotated[str | None, typer.Argument(help="A projection; all when omitted.")] = None,
) -> None:
    """List events parked in the dead-letter table, with their errors."""
    from composition.bootstrap import bootstrap
    from projections.dead_letters import parked

    system = bootstrap(Settings())
    try:
        typer.echo(json.dumps(parked(system.db, name), default=str, ensure_ascii=False, indent=2))
    finally:
        system.close()


@projections_cli.command("replay")
def projections_replay(
    name: Annotated[str, typer.Argument(help="The projection whose parked events to replay.")],
) -> None:
    """Apply a projection's parked events again (after its bug is fixed)."""
    from composition.bootstrap import bootstrap

    system = bootstrap(Settings())
    try:
        result = system.replay_parked(name)
        typer.echo(f"{name}: {result['replayed']} replayed, {result['failed']} still failing")
    finally:
        system.close()


@projections_cli.command("rebuild")
def projections_rebuild(
    names: Annotated[
        list[str] | None,
        typer.Argument(help="The projections to rebuild, e.g. libraries; all when omitted."),
    ] = None,
    jobs: Annotated[
        int, typer.Option(help="Rebuilds at once, each on connections of its own.")
    ] = 2,
) -> None:
    """Replay projections from the first event, each into a fresh schema, then swap each
    in atomically; the API answers from the old tables until each swap. Several go in
    parallel, `--jobs` at a time (ADR 0030)."""
    from composition.bootstrap import PROJECTIONS, bootstrap
    from composition.rebuilds import rebuild_in_parallel
    from infra.gc_tuning import tune_gc
    from projections.rebuild import RebuildReport

    chosen = list(names or PROJECTIONS)

    def say(name: str, report: RebuildReport) -> None:
        typer.echo(
            f"{name}: {report.events} events replayed, {report.applied} applied, "
            f"{report.seconds:.2f} s, {report.events_per_second:,.0f} events/s"
        )

    tune_gc()
    system = bootstrap(Settings())
    try:
        if len(chosen) > 1 and jobs > 1:
            failed = []
            for name, outcome in rebuild_in_parallel(system, chosen, jobs):
                if isinstance(outcome, RebuildReport):
                    say(name, outcome)
                else:
                    failed.append(name)
                    typer.echo(f"{name}: failed, its live tables unchanged: {outcome!r}", err=True)
            if failed:
                raise typer.Exit(1)
            return
        for name in chosen:
            with typer.progressbar(length=1, label=f"rebuilding {name}") as bar:
                done = 0

                def progress(seen: int, total: int) -> None:
                    nonlocal done
                    bar.length = max(total, 1)
                    bar.update(seen - done)
                    done = seen

                report = system.rebuild(name, progress)
            say(name, report)
    finally:
        system.close()


def main() -> None:
    cli()
