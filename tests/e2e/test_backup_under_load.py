"""`libshare backup` while librarians keep sending requests over HTTP; then the database is
wiped and `libshare restore` brings the network back on another data folder (other key
files, as on another machine): every event, read model and aggregate as before, the same
API keys sign in, and requests retried with their client request ids get their first
results. The backup taken under load is consistent: each command it holds, with its events."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from psycopg.conninfo import conninfo_to_dict
from typer.testing import CliRunner

from api.app import create_app
from api.cli import cli
from composition.bootstrap import System, bootstrap
from composition.demo_network import load_demo
from infra.backup_archive import Archive, Sealing
from infra.kafka_history import check_whole
from infra.settings import Settings
from tests.e2e.callers import headers_for
from tests.integration.backup_support import PASSPHRASE, aggregates, event_bodies, read_models
from tests.integration.support import eventually

REQUESTERS = ("HNM-S-BH", "HNM-S-ADT", "HNM-S-APL")


def settings(url: str, data_dir: Path) -> Settings:
    return Settings(
        database_url=url, kafka_bootstrap_servers=None, load_demo=False, db_pool_size=4,
        data_dir=data_dir,
    )  # fmt: skip


@pytest.fixture
def served(database_url: str, tmp_path: Path) -> Iterator[tuple[TestClient, System]]:
    system = bootstrap(settings(database_url, tmp_path / "lost"), configure=False)
    try:
        load_demo(system)
        system.start_projector()
        with TestClient(create_app(system=system)) as client:
            yield client, system
    finally:
        system.close()


class Load:
    """Librarians of three libraries asking for works, each request with its client
    request id, until stopped; each answer kept with when it came."""

    def __init__(self, client: TestClient, headers: dict[str, dict[str, str]]) -> None:
        self.client, self.headers = client, headers
        self.stop = threading.Event()
        self.answers: dict[str, tuple[int, Any, float, float]] = {}
        self.threads = [threading.Thread(target=self._ask, args=(lib,)) for lib in REQUESTERS]

    def _ask(self, library: str) -> None:
        n = 0
        while not self.stop.is_set():
            key = f"{library}-{n}"
            started = time.monotonic()
            r = self.client.post(
                "/requests",
                json={"work": "W-KIEU", "reader_ref": "BD-1", "client_request_id": key},
                headers=self.headers[library],
            )
            self.answers[key] = (r.status_code, r.json(), started, time.monotonic())
            n += 1

    def __enter__(self) -> Load:
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        for t in self.threads:
            t.join()


def cli_env(url: str, data_dir: Path) -> dict[str, str]:
    return {
        "DATABASE_URL": url,
        "LIBSHARE_DATA_DIR": str(data_dir),
        "LIBSHARE_BACKUP_PASSPHRASE": PASSPHRASE,
        "LIBSHARE_LOG_LEVEL": "WARNING",
        "KAFKA_BOOTSTRAP_SERVERS": "",
    }


def wipe(url: str) -> None:
    """The database server lost its disk: the database is gone, made again empty."""
    params = conninfo_to_dict(url)
    name = str(params["dbname"])
    server = psycopg.conninfo.make_conninfo(
        "", **{**{k: v for k, v in params.items() if v is not None}, "dbname": "postgres"}
    )
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def test_backup_under_load_then_wipe_and_restore(
    served: tuple[TestClient, System], database_url: str, tmp_path: Path
) -> None:
    client, system = served
    headers = {lib: headers_for(client, "librarian", library=lib) for lib in REQUESTERS}
    run = CliRunner()
    under_load = tmp_path / "under-load.lsbak"
    with Load(client, headers) as load:
        eventually(lambda: len(load.answers) >= 10, what="requests under way")
        started = time.monotonic()
        lost = cli_env(database_url, tmp_path / "lost")
        made = run.invoke(cli, ["backup", str(under_load)], env=lost)
        ended = time.monotonic()
        eventually(lambda: any(a[2] > ended for a in load.answers.values()), what="more")
    assert made.exit_code == 0, made.output
    assert "backup written" in made.output and "digest sha256:" in made.output
    assert {a[0] for a in load.answers.values()} == {201}, "no command failed meanwhile"
    during = [a for a in load.answers.values() if started < a[2] and a[3] < ended]
    assert during, "commands were answered while the backup ran"
    # Consistent: each command in the backup comes with its events, whole aggregates only.
    archive = Archive(under_load)
    try:
        archive.verify(Sealing(passphrase=PASSPHRASE))
        rows = list(archive.events())
        check_whole(rows)
        ids = {r.originator_id for r in rows}
        keys = [c[0] for c in archive.commands()]
        assert any(k.split(":", 1)[-1] in load.answers for k in keys)
        for key, _, result, _ in archive.commands():
            assert result["id"] in ids, key  # the request the command made is there
    finally:
        archive.close()

    eventually(
        lambda: all(p["lag"] == 0 for p in client.get("/projections", headers=headers_for(
            client, "auditor")).json().values()),
        what="the projections to catch up",
    )  # fmt: skip
    before = (event_bodies(system), read_models(system), aggregates(system))
    quiet = tmp_path / "quiet.lsbak"
    made = run.invoke(cli, ["backup", str(quiet)], env=lost)
    assert made.exit_code == 0, made.output
    client.__exit__(None, None, None)
    system.close()

    wipe(database_url)
    again = tmp_path / "new"
    restored = run.invoke(cli, ["restore", str(quiet)], env=cli_env(database_url, again))
    assert restored.exit_code == 0, restored.output
    assert "events/s" in restored.output
    refused = run.invoke(cli, ["restore", str(quiet)], env=cli_env(database_url, again))
    assert refused.exit_code == 1 and "not empty" in refused.output

    back = bootstrap(settings(database_url, again), configure=False)
    try:
        assert event_bodies(back) == before[0]
        assert read_models(back) == before[1]
        assert aggregates(back) == before[2]
        with TestClient(create_app(system=back)) as new_client:
            for key, (_, first, _, _) in sorted(load.answers.items())[:12]:
                library = key.rsplit("-", 1)[0]
                r = new_client.post(
                    "/requests",
                    json={"work": "W-KIEU", "reader_ref": "BD-1", "client_request_id": key},
                    headers=headers[library],  # the same API keys: their hashes came back
                )
                assert r.status_code == 200, r.text
                answer = r.json()
                assert answer.pop("replayed") is True and answer == first
    finally:
        back.close()
