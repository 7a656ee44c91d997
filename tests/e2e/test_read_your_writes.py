"""Read your own writes over the API: a client that creates something and reads it at once
gets it, although the read models follow the event store a moment later. Here they are
held back on purpose (their projection locks taken for a while), as a busy projector is."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from composition.bootstrap import System
from composition.demo_network import load_demo
from projections.bookkeeping import lock_projections
from tests.e2e.callers import headers_for, network_admin
from tests.integration.support import eventually

HELD_SECONDS = 0.8


@pytest.fixture
def client(system: System) -> Iterator[TestClient]:
    load_demo(system)
    system.start_projector()
    with TestClient(create_app(system=system)) as c:
        eventually(lambda: len(c.get("/libraries").json()) == 16, what="demo libraries")
        yield c


class HeldBack:
    """Holds the read models of `projections` back for HELD_SECONDS from entering."""

    def __init__(self, system: System, *projections: str) -> None:
        self.system, self.projections = system, list(projections)
        self.locked = threading.Event()

    def __enter__(self) -> HeldBack:
        self.thread = threading.Thread(target=self._hold)
        self.thread.start()
        assert self.locked.wait(10)
        return self

    def _hold(self) -> None:
        with self.system.db.transaction() as conn:
            lock_projections(conn, sorted(self.projections))
            self.locked.set()
            time.sleep(HELD_SECONDS)

    def __exit__(self, *_: Any) -> None:
        self.thread.join(10)


def test_a_request_read_at_once_after_creating_it_is_found(
    client: TestClient, system: System
) -> None:
    kb = headers_for(client, "librarian", library="HNM-KB")
    with HeldBack(system, "requests"):
        started = time.monotonic()
        created = client.post(
            "/requests", json={"work": "W-KIEU", "reader_ref": "BD-1"}, headers=kb
        )
        assert created.status_code == 201, created.text
        read = client.get(f"/requests/{created.json()['id']}", headers=kb)
        assert time.monotonic() - started < HELD_SECONDS + 3  # waited, briefly
    assert read.status_code == 200, read.text
    assert read.json()["version"] == created.json()["version"]
    assert read.json()["status"] == created.json()["status"]


def test_an_action_is_seen_by_the_next_read_and_min_version_serves_another_caller(
    client: TestClient, system: System
) -> None:
    kb = headers_for(client, "librarian", library="HNM-KB")
    created = client.post("/requests", json={"work": "W-KIEU", "reader_ref": "BD-2"}, headers=kb)
    request_id, version = created.json()["id"], created.json()["version"]
    eventually(lambda: client.get(f"/requests/{request_id}", headers=kb).status_code == 200)
    with HeldBack(system, "requests"):
        acted = client.post(
            f"/requests/{request_id}/actions",
            json={"action": "Notification", "note": "Đã gọi bạn đọc"},
            headers=kb,
        )
        assert acted.status_code == 200, acted.text
        assert acted.json()["version"] > version
        read = client.get(f"/requests/{request_id}", headers=kb)
    assert read.json()["version"] == acted.json()["version"]
    assert read.json()["status"] == acted.json()["status"]

    # Another account of the same library did not write it; it names the version it wants.
    colleague = headers_for(client, "library_admin", library="HNM-KB")
    with HeldBack(system, "requests"):
        again = client.post(
            f"/requests/{request_id}/actions",
            json={"action": "Notification", "note": "Xin lỗi bạn đọc"},
            headers=kb,
        )
        assert again.status_code == 200, again.text
        seen = client.get(
            f"/requests/{request_id}",
            params={"min_version": again.json()["version"]},
            headers=colleague,
        )
    assert seen.status_code == 200 and seen.json()["version"] == again.json()["version"]


def test_a_library_and_an_account_read_at_once_after_creating_them_are_found(
    client: TestClient, system: System
) -> None:
    admin = network_admin(client)
    with HeldBack(system, "libraries", "accounts"):
        registered = client.post(
            "/libraries",
            json={
                "code": "HNM-S-RYW",
                "name": "Trường RYW",
                "kind": "school",
                "locality": "Phủ Lý",
            },
            headers=admin,
        )
        assert registered.status_code == 201, registered.text
        assert client.get("/libraries/HNM-S-RYW").status_code == 200
        opened = client.post(
            "/accounts",
            json={"username": "ryw.kb", "display_name": "RYW", "library": "HNM-KB"},
            headers=admin,
        )
        assert opened.status_code == 201, opened.text
        read = client.get("/accounts/ryw.kb", headers=admin)
    assert read.status_code == 200, read.text
    assert read.json()["history"][-1]["version"] == opened.json()["version"]


def test_a_stranger_naming_a_version_learns_nothing_of_another_librarys_request(
    client: TestClient,
) -> None:
    kb = headers_for(client, "librarian", library="HNM-KB")
    created = client.post("/requests", json={"work": "W-KIEU", "reader_ref": "BD-3"}, headers=kb)
    stranger = headers_for(client, "librarian", library="HNM-S-APL")
    started = time.monotonic()
    r = client.get(
        f"/requests/{created.json()['id']}", params={"min_version": 99}, headers=stranger
    )
    assert r.status_code == 404 and r.json()["type"] == "/problems/not-found"
    assert time.monotonic() - started < 1  # refused at once, not after waiting
