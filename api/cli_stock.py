"""`libshare stock`: copies and transfers from the command line — the migration of
holdings that were counts, a copy's state and history, and a transfer's handover record
rendered again from its events and checked against the hash its event recorded."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated
from uuid import UUID

import typer

from infra.settings import Settings

stock_cli = typer.Typer(help="Copies, transfers and rotations.", no_args_is_help=True)


@stock_cli.command("migrate-copies")
def migrate_copies() -> None:
    """Register the numbered copies of every holding that was a count (idempotent)."""
    from composition.bootstrap import bootstrap
    from composition.copies_migration import migrate_counted_holdings

    system = bootstrap(Settings())
    try:
        typer.echo(f"copies registered: {migrate_counted_holdings(system)}")
    finally:
        system.close()


@stock_cli.command("copy")
def show_copy(barcode: str) -> None:
    """A copy's state now, and its history from the event store, as JSON."""
    from composition.bootstrap import bootstrap
    from infra.aggregate_history import history
    from services.copies import copy_summary

    system = bootstrap(Settings())
    try:
        copy = system.copies.get(barcode)
        with system.db.transaction() as conn:
            events = history(conn, system.app.mapper, copy.id)
        shown = {**copy_summary(copy), "history": events}
        typer.echo(json.dumps(shown, ensure_ascii=False, indent=2, default=str))
    finally:
        system.close()


@stock_cli.command("handover")
def handover(
    transfer_id: UUID,
    stage: Annotated[str, typer.Option(help="dispatch or receipt")] = "dispatch",
    out: Annotated[Path | None, typer.Option("--out", "-o", help="where to write the PDF")] = None,
) -> None:
    """Render a transfer's handover record again from its events; exit 1 if its hash is
    not the one recorded at the time (the record would have been altered)."""
    from composition.bootstrap import bootstrap

    system = bootstrap(Settings())
    try:
        pdf, matches = system.transfers.handover_record(transfer_id, stage)
    finally:
        system.close()
    target = out or Path(f"bien-ban-{stage}-{transfer_id}.pdf")
    target.write_bytes(pdf)
    typer.echo(f"{target}: {'matches' if matches else 'DOES NOT MATCH'} the recorded hash")
    if not matches:
        raise typer.Exit(1)
