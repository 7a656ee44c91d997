"""`libshare catalogue import FILE --library CODE` on the real store: the report as JSON,
and a second run of the same file changes nothing."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from typer.testing import CliRunner

from api.cli import cli
from composition.bootstrap import System
from tests.actors import TESTER
from tests.integration.marc_files import Book, iso2709


def test_the_operator_imports_a_file_twice_and_the_second_changes_nothing(
    make_system: Callable[..., System], database_url: str, tmp_path: Path
) -> None:
    system = make_system()
    system.catalogue.register_library(TESTER, "HNM-KB", "Thư viện Kim Bảng", "district", "Hà Nam")
    file = tmp_path / "kimbang.mrc"
    file.write_bytes(
        iso2709(Book("KB-1", "Vợ nhặt", "Kim Lân", "1962"), Book("KB-2", "", "Không tên"))
    )
    env = {"DATABASE_URL": database_url, "LIBSHARE_LOG_LEVEL": "WARNING"}
    run = CliRunner()
    first = run.invoke(cli, ["catalogue", "import", str(file), "--library", "HNM-KB"], env=env)
    assert first.exit_code == 0, first.output
    report = json.loads(first.stdout[first.stdout.index("{") :])
    assert (report["created"], report["rejected"][0]["reason"]) == (1, "no title (245 $a)")
    second = run.invoke(cli, ["catalogue", "import", str(file), "--library", "hnm-kb"], env=env)
    again = json.loads(second.stdout[second.stdout.index("{") :])
    assert (again["created"], again["unchanged"]) == (0, 1)
    unknown = run.invoke(cli, ["catalogue", "import", str(file), "--library", "HNM-XX"], env=env)
    assert unknown.exit_code != 0
