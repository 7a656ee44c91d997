"""The operator's mistakes with `libshare backup` and `libshare restore` get one clear line
and exit status 1, and change nothing."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from api.cli import cli
from tests.integration.backup_support import PASSPHRASE, event_count


def run(args: list[str], url: str, data_dir: Path, **env: str) -> tuple[int, str]:
    result = CliRunner().invoke(
        cli,
        args,
        env={
            "DATABASE_URL": url,
            "LIBSHARE_DATA_DIR": str(data_dir),
            "LIBSHARE_BACKUP_PASSPHRASE": PASSPHRASE,
            "LIBSHARE_LOG_LEVEL": "WARNING",
            "KAFKA_BOOTSTRAP_SERVERS": "",
            **env,
        },
    )
    return result.exit_code, result.output


def test_mistakes_are_refused_with_a_clear_message(database_url: str, tmp_path: Path) -> None:
    archive = tmp_path / "a.lsbak"
    assert run(["backup", str(archive)], database_url, tmp_path)[0] == 0
    cases = [
        (["backup", str(archive)], {}, "exists already"),
        (["backup", str(tmp_path / "b.lsbak")], {"LIBSHARE_BACKUP_PASSPHRASE": "short"}, "12"),
        (["restore"], {}, "give a backup archive, or --from-kafka"),
        (["restore", "--from-kafka"], {}, "KAFKA_BOOTSTRAP_SERVERS is not set"),
        (["restore", "--from-kafka", "--as-of", "2026-12-01T00:00:00+07:00", "--reason", "x"],
         {}, "starts from a backup archive"),
        (["restore", str(archive), "--as-of", "2026-12-01T00:00:00+0700"], {}, "--reason"),
        (["restore", str(tmp_path / "missing.lsbak")], {}, "not a readable backup archive"),
        (["restore", str(archive)], {"LIBSHARE_BACKUP_PASSPHRASE": "another passphrase"},
         "do not open"),
    ]  # fmt: skip
    for args, env, message in cases:
        code, output = run(args, database_url, tmp_path, **env)
        assert code == 1 and message in output, (args, output)
    assert not (tmp_path / "b.lsbak").exists()
    assert event_count(database_url) == 0
    code, output = run(["restore", str(archive), "--show-keys"], database_url, tmp_path)
    assert code == 0 and "LIBSHARE_READER_DATA_KEY=" in output and "LIBSHARE_TOKEN_KEY=" in output
