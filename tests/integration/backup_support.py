"""What backup and restore tests share: a network with some history (requests with client
request ids, a reader's sealed personal data, a partner's secret), and the store's whole
state — its events in log order, every read model, every aggregate — for comparisons."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

import psycopg

from composition.bootstrap import PROJECTIONS, System
from composition.demo_network import load_demo
from domain.access import ONLINE_REGISTRATION
from infra.backup_store import store_digest_rows
from infra.database import with_dbname
from services.commands import RegisterReader
from tests.actors import TESTER
from tests.integration.support import read_model_rows
from tests.integration.test_projection_runner import drain

PASSPHRASE = "một cụm mật khẩu dài"


def make_history(system: System, rounds: int = 3) -> dict[str, dict[str, Any]]:
    """The demo network, requests with client request ids, a reader with personal data
    and a partner's secret; the read models caught up. Returns each command's first
    result by its client request id."""
    load_demo(system)
    runner = system.make_runner()
    drain(system, runner)
    first: dict[str, dict[str, Any]] = {}
    now = datetime.now(UTC)
    for n in range(rounds):
        for requester in ("HNM-S-BH", "HNM-S-ADT"):
            key = f"{requester}-{n}"
            first[key] = system.requests.request_item(
                TESTER, requester=requester, work="W-KIEU", reader_ref=f"BD-{n}",
                client_request_id=key, now=now,
            )  # fmt: skip
    system.entry.act(
        ONLINE_REGISTRATION,
        RegisterReader(
            home_library="HNM-KB",
            name="Nguyễn Thị Hoa",
            date_of_birth=date(1990, 5, 17),
            contact="hoa@example.vn",
        ),
    )
    system.partners.add_partner_secret(TESTER, "VNPOST")
    drain(system, runner)
    return first


def event_bodies(system: System) -> list[str]:
    """The store's events in log order, as the digest covers them."""
    return [row.body() for row in store_digest_rows(system.db.url)]


def aggregates(system: System) -> dict[UUID, dict[str, Any]]:
    """Every aggregate of the store, as the write side loads it (personal data opened)."""
    with system.db.transaction() as conn:
        ids = [r[0] for r in conn.execute("SELECT DISTINCT originator_id FROM libshare_events")]
    return {i: vars(system.app.repository.get(i)) for i in ids}


def read_models(system: System) -> dict[str, list[tuple[Any, ...]]]:
    return read_model_rows(system, *PROJECTIONS)


@contextmanager
def another_database(pg_server_url: str) -> Iterator[str]:
    """An empty database on the server, as on another machine; dropped afterwards."""
    name = f"t_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(pg_server_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield with_dbname(pg_server_url, name)
    finally:
        with psycopg.connect(pg_server_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def event_count(url: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT count(*) FROM libshare_events").fetchone()
    return int(row[0]) if row else 0


MakeSystem = Callable[..., System]


def out_of_order_commit(system: System) -> None:
    """A transaction that began writing (took its transaction id) before another, but took
    its notification id after it: the log reads it first, with the higher id. A restore
    must keep that order."""
    from domain.library import Library

    lib = Library.register("HNM-LATE", "Thư viện đến muộn", "school", "Lý Nhân")
    (event,) = lib.collect_events()
    stored = system.app.mapper.to_stored_event(event)
    with psycopg.connect(system.db.url) as conn, conn.transaction():
        conn.execute("SELECT pg_current_xact_id()")
        system.catalogue.register_library(TESTER, "HNM-EARLY", "Thư viện sớm", "school", "Lý Nhân")
        conn.execute(
            "INSERT INTO libshare_events (originator_id, originator_version, topic, state) "
            "VALUES (%s, %s, %s, %s)",
            (stored.originator_id, stored.originator_version, stored.topic, stored.state),
        )
    with system.db.transaction() as conn:
        rows = conn.execute(
            "SELECT notification_id FROM (SELECT * FROM libshare_events "
            "ORDER BY notification_id DESC LIMIT 2) AS e ORDER BY xid, notification_id"
        ).fetchall()
    assert rows[0][0] > rows[1][0], "the later id comes first in log order"
