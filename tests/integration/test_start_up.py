"""Start-up waits for PostgreSQL with bounded, logged retries instead of failing."""

from __future__ import annotations

import threading
import time
import uuid

import psycopg
import structlog

from infra.database import Database, with_dbname


def test_a_database_that_comes_up_late_is_waited_for_with_logged_retries(
    pg_server_url: str,
) -> None:
    name = f"late_{uuid.uuid4().hex[:10]}"
    db = Database(with_dbname(pg_server_url, name), pool_size=1)
    opened = threading.Event()
    failure: list[BaseException] = []

    def start() -> None:
        try:
            db.open()
            opened.set()
        except BaseException as exc:  # reported below
            failure.append(exc)

    worker = threading.Thread(target=start)
    with structlog.testing.capture_logs() as logs:
        worker.start()
        _wait_and_create(worker, opened, failure, pg_server_url, name)
    try:
        assert opened.is_set(), failure
        assert db.ping()
    finally:
        db.close()
        with psycopg.connect(pg_server_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    retries = [x for x in logs if x.get("event") == "retrying" and x["what"] == "postgres connect"]
    assert retries and retries[0]["log_level"] == "warning" and retries[0]["attempt"] == 1
    assert "does not exist" in retries[0]["error"]


def _wait_and_create(
    worker: threading.Thread,
    opened: threading.Event,
    failure: list[BaseException],
    pg_server_url: str,
    name: str,
) -> None:
    """Let the start-up wait a while, then bring the database up."""
    time.sleep(3)
    assert not opened.is_set() and not failure  # still waiting, not failed
    with psycopg.connect(pg_server_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    worker.join(60)
