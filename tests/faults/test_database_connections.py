"""PostgreSQL faults while three clients create ILL requests: every connection of every
process terminated (pg_terminate_backend), four times; then the database refusing every
connection for a few seconds, as a server restarting does. The API answers 503
problem+json with Retry-After to the commands caught, never a 500; a client retrying with
the same client_request_id gets exactly one request; the workers carry on from their
stored positions."""

from __future__ import annotations

import time
import uuid

import httpx
import psycopg
from psycopg.conninfo import conninfo_to_dict

from composition.bootstrap import System
from infra.database import with_dbname
from tests.faults.checks import (
    assert_nothing_lost,
    caught_up,
)
from tests.faults.conftest import record_recovery
from tests.faults.layout import Layout, Load, phase, token, wait_until


def terminate_all(database_url: str) -> int:
    with psycopg.connect(with_dbname(database_url, "postgres"), autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
            (conninfo_to_dict(database_url)["dbname"],),
        ).fetchall()
    return len(rows)


def allow_connections(database_url: str, allow: bool) -> None:
    name = conninfo_to_dict(database_url)["dbname"]
    with psycopg.connect(with_dbname(database_url, "postgres"), autocommit=True) as conn:
        conn.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS {str(allow).lower()}')


def test_terminated_connections_answer_503_and_nothing_is_half_written(
    layout: Layout, load: Load, checker: System, database_url: str
) -> None:
    wait_until(lambda: load.created() >= 60, 60, "the clients creating requests")
    headers = {"Authorization": f"Bearer {token(layout, 'thuthu.adt')}"}
    answers: list[tuple[int, str, str | None]] = []
    ids = [f"pg-{n}-{uuid.uuid4().hex[:6]}" for n in range(40)]
    with httpx.Client(timeout=60) as http:

        def create(client_id: str) -> httpx.Response:
            body = {"work": "W-KIEU", "reader_ref": "BD-PG", "client_request_id": client_id}
            return http.post(layout.url("/requests"), json=body, headers=headers)

        for n, client_id in enumerate(ids):
            if n % 10 == 0:
                phase(f"terminated {terminate_all(database_url)} connections")
            answer = create(client_id)
            while answer.status_code == 503:  # as a client does: wait, then the same id again
                answers.append(
                    (503, answer.headers["content-type"], answer.headers.get("retry-after"))
                )
                time.sleep(float(answer.headers["retry-after"]))
                answer = create(client_id)
            answers.append((answer.status_code, answer.headers["content-type"], None))
            assert answer.status_code in (200, 201), answer.text
        # The server refuses every connection, as while it restarts: for as long as the
        # command caught takes to answer (eventsourcing retries its reads, ~20 s), 4 s at least.
        allow_connections(database_url, False)
        phase(f"refusing connections; terminated {terminate_all(database_url)}")
        refused_at = time.monotonic()
        down = [create(f"pg-down-{uuid.uuid4().hex[:6]}")]  # eventsourcing retries ~20 s
        time.sleep(max(0.0, 4 - (time.monotonic() - refused_at)))
        allow_connections(database_url, True)
        phase("accepting connections again")
        for answer in down:
            assert answer.status_code == 503, answer.text
            assert answer.headers["content-type"] == "application/problem+json"
            assert answer.json()["type"] == "/problems/unavailable"
            assert int(answer.headers["retry-after"]) > 0
            answers.append((503, answer.headers["content-type"], answer.headers["retry-after"]))
        retry = create(ids[-1])  # the same id once more: the first result, no second request
        while retry.status_code == 503:  # the pools reconnecting
            time.sleep(float(retry.headers["retry-after"]))
            retry = create(ids[-1])
        assert retry.status_code == 200, retry.text
        ids.append(f"pg-after-{uuid.uuid4().hex[:6]}")
        wait_until(lambda: create(ids[-1]).status_code in (200, 201), 30, "commands again")
    load.finish()
    finished = time.monotonic()
    for status, content_type, retry_after in answers:
        if status == 503:
            assert content_type == "application/problem+json" and retry_after
    phase(f"answers: {sorted({s for s, _, _ in answers})}")
    assert all(s < 500 or s == 503 for s, _, _ in answers)
    wait_until(lambda: caught_up(checker), 60, "the workers carrying on")
    record_recovery("database connections cut and refused", time.monotonic() - finished)
    with checker.db.transaction() as conn:
        (made,) = conn.execute(
            "SELECT count(*) FROM ill_requests WHERE reader_ref = 'BD-PG'"
        ).fetchone() or (0,)
    assert made == len(ids), f"{made} requests for {len(ids)} client request ids"
    assert_nothing_lost(checker, layout, load, answers_503=True)
