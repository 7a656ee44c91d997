"""`libshare catalogue`: import a library's MARC21 file (ISO 2709 or MARCXML, UTF-8 or
MARC-8) into the union catalogue, with a progress bar and the import's report (ADR 0025)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from infra.settings import Settings

catalogue_cli = typer.Typer(help="The union catalogue: MARC21 import.", no_args_is_help=True)


def count_records(data: bytes) -> int:
    """How many records a file holds, for the progress bar (a guess for MARCXML)."""
    from services.marc_records import detect_marcxml

    if detect_marcxml(data):
        return data.count(b"<record") + data.count(b":record ") or 1
    return data.count(b"\x1d") or 1


@catalogue_cli.command("import")
def import_file(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="The MARC21 file.")],
    library: Annotated[str, typer.Option(help="The code of the library whose file it is.")],
) -> None:
    """Import FILE as LIBRARY's records; prints the report (created, updated, merged,
    rejected with reasons) as JSON. Importing the same file again changes nothing."""
    from rich.progress import Progress

    from composition.bootstrap import bootstrap
    from domain.access import CATALOGUE_IMPORTER
    from services.commands import ImportCatalogue

    data = file.read_bytes()
    system = bootstrap(Settings())
    try:
        with Progress(transient=True) as bar:
            task = bar.add_task(f"{file.name} → {library}", total=count_records(data))
            report = system.entry.act(
                CATALOGUE_IMPORTER,
                ImportCatalogue(library, data, lambda done: bar.update(task, completed=done)),
            )
        typer.echo(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
    finally:
        system.close()
