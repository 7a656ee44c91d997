"""Two libshare instances, each the other's outside ISO 18626 peer (ADR 0028), for the
round trips over real HTTP: instance A's library LIB-A borrows from instance B's LIB-B.
Each runs its API under uvicorn on a port of its own, with a database of its own, its
projector and its ISO 18626 outbox; the librarians act through each one's API. With a
`Pki`, both serve HTTPS and know each other by mutual TLS (tests/e2e/tls_world.py)."""

from __future__ import annotations

import socket
import threading
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import Any

import httpx
import psycopg
import pytest
import uvicorn
from fastapi.testclient import TestClient

from api.app import create_app
from api.tls import server_options
from composition.bootstrap import System
from domain.ill_request import IllRequest
from infra.certificates import client_context
from infra.database import with_dbname
from infra.iso18626_xml import Header, build_request
from services.commands import ConfigureIsoPeer
from services.iso_inbound import peer_request_id
from tests.e2e.callers import api_key_for
from tests.e2e.iso_world import ADMIN, build_network, need_interop
from tests.e2e.tls_world import Issued, Pki
from tests.integration.support import eventually

WORK = "W-KIEU"


@dataclass
class Side:
    system: System
    url: str
    key: str
    verify: Any = True  # the CA file, over HTTPS
    served: Counter[str] = field(default_factory=Counter)  # HTTP requests served, by path

    def act(self, request_id: Any, action: str, **params: Any) -> dict[str, Any]:
        r = httpx.post(
            f"{self.url}/requests/{request_id}/actions",
            json={"action": action, **params},
            headers={"Authorization": f"Bearer {self.key}"},
            timeout=10,
            verify=self.verify,
        )
        assert r.status_code == 200, r.text
        return dict(r.json())

    def request(self, request_id: Any) -> IllRequest:
        return self.system.requests.get_request(request_id)

    def messages_via(self, client: TestClient, request_id: Any) -> list[dict[str, Any]]:
        r = client.get(
            f"/requests/{request_id}/iso18626", headers={"Authorization": f"Bearer {self.key}"}
        )
        assert r.status_code == 200, r.text
        return list(r.json()["messages"])

    def messages(self, request_id: Any) -> list[dict[str, Any]]:
        r = httpx.get(
            f"{self.url}/requests/{request_id}/iso18626",
            headers={"Authorization": f"Bearer {self.key}"},
            timeout=10,
            verify=self.verify,
        )
        assert r.status_code == 200, r.text
        return list(r.json()["messages"])


ASGIApp = Callable[[MutableMapping[str, Any], Any, Any], Awaitable[None]]


def counting(app: ASGIApp, served: Counter[str]) -> ASGIApp:
    """`app`, counting the HTTP requests it serves by path (an access log one can read)."""

    async def counted(scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            served[scope["path"]] += 1
        await app(scope, receive, send)

    return counted


def bound_socket() -> socket.socket:
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@pytest.fixture
def second_database(pg_server_url: str) -> Iterator[str]:
    name = f"t_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(pg_server_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield with_dbname(pg_server_url, name)
    with psycopg.connect(pg_server_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def pin_peer(system: System, peer: str, url: str, *certificates: Issued) -> None:
    """`system` takes `peer`'s messages, over mutual TLS, with these client certificates
    only (two during a rotation's cut-over)."""
    system.entry.act(
        ADMIN,
        ConfigureIsoPeer(
            peer,
            f"Outside {peer}",
            "ISIL",
            peer,
            url,
            auth="mutual-tls",
            certificates=tuple(c.pem for c in certificates),
        ),
    )


@contextmanager
def two_instances(
    make_system: Callable[..., System],
    second_database: str,
    b_after: float = 0.0,
    pki: Pki | None = None,
    lookup: bool | dict[str, str] = False,
    extra: tuple[dict[str, Any], dict[str, Any]] = ({}, {}),
) -> Iterator[tuple[Side, Side]]:
    """A and B, each served by uvicorn on its own port; B starts listening `b_after`
    seconds later (until then, connecting to it is refused). With `pki`: over HTTPS,
    each peer configured for mutual TLS with the other's client certificate. With
    `lookup`: A asks B's SRU server whether it has a work (the lookup hook); a dict: and
    those other peers' servers, asked first (library code -> URL). `extra`: more settings
    of A and of B (they win). Each side's `served` counts what it served."""
    xsd = need_interop()
    socks = bound_socket(), bound_socket()
    scheme = "https" if pki else "http"
    urls = [f"{scheme}://127.0.0.1:{s.getsockname()[1]}" for s in socks]
    settings: dict[str, Any] = {"iso18626_xsd_dir": xsd, "iso18626_send_seconds": 8.0}
    tls: list[dict[str, Any]] = [{}, {}]
    if pki is not None:
        for i, client in enumerate((pki.client_a, pki.client_b)):
            tls[i] = {
                "tls_certfile": pki.server.cert,
                "tls_keyfile": pki.server.key,
                "tls_client_ca": pki.ca.cert,
                "iso18626_client_cert": client.cert,
                "iso18626_client_key": client.key,
                "iso18626_ca_file": pki.ca.cert,
            }
    others = lookup if isinstance(lookup, dict) else {}
    hook = {"iso18626_lookups": {**others, "LIB-B": f"{urls[1]}/sru"}} if lookup else {}
    a = make_system(
        **{
            **settings,
            **tls[0],
            **hook,
            "iso18626_outbox_interval_seconds": 0.1,
            **extra[0],
        }
    )
    b = make_system(
        **settings,
        **tls[1],
        **extra[1],
        iso18626_outbox_interval_seconds=0.1,
        database_url=second_database,
    )
    build_network(a, "LIB-A", "LIB-B", f"{urls[1]}/iso18626", WORK, holder="LIB-B")
    build_network(b, "LIB-B", "LIB-A", f"{urls[0]}/iso18626", WORK)
    if pki is not None:
        pin_peer(a, "LIB-B", f"{urls[1]}/iso18626", pki.client_b)
        pin_peer(b, "LIB-A", f"{urls[0]}/iso18626", pki.client_a)
    servers = []
    served: tuple[Counter[str], Counter[str]] = (Counter(), Counter())
    for system, sock, after, count in zip((a, b), socks, (0.0, b_after), served, strict=True):
        system.start_projector()
        system.start_iso_outbox()
        config = uvicorn.Config(
            counting(create_app(system=system), count),
            log_level="warning",
            **server_options(system.settings),
        )
        server = uvicorn.Server(config)

        def run(
            server: uvicorn.Server = server, sock: socket.socket = sock, after: float = after
        ) -> None:
            time.sleep(after)
            server.run(sockets=[sock])

        threading.Thread(target=run, daemon=True).start()
        servers.append(server)
    eventually(lambda: bool(servers[0].started), what="A to start")
    verify: Any = client_context(pki.ca.cert) if pki else True
    key_a = api_key_for(a, "lib-a", "librarian", library="LIB-A")
    key_b = api_key_for(b, "lib-b", "librarian", library="LIB-B")
    side_a = Side(a, urls[0], key_a, verify, served[0])
    side_b = Side(b, urls[1], key_b, verify, served[1])
    try:
        yield side_a, side_b
    finally:
        for server in servers:
            server.should_exit = True
        time.sleep(0.3)


@pytest.fixture
def sides(make_system: Callable[..., System], second_database: str) -> Iterator[tuple[Side, Side]]:
    with two_instances(make_system, second_database) as both_sides:
        eventually(lambda: answers(both_sides[1]), what="B to start")
        yield both_sides


def answers(side: Side) -> bool:
    """Whether `side` serves (HTTP or HTTPS)."""
    try:
        return httpx.get(f"{side.url}/health", timeout=1, verify=side.verify).status_code < 500
    except httpx.HTTPError:
        return False


def request_from_lib_a(their: str) -> bytes:
    """What LIB-A's system would send B directly: a request for B's work."""
    header = Header(("ISIL", "LIB-B"), ("ISIL", "LIB-A"), "2026-12-02T06:00:00Z", their)
    return build_request("2021", header, work=WORK, title="Truyện Kiều", service_type="Loan")


def borrow(a: Side, b: Side, service_type: str = "Loan") -> tuple[Any, Any]:
    """LIB-A asks for the work; its rota reaches LIB-B, on the other instance."""

    def candidates() -> bool:
        return bool(a.system.candidate_finder(WORK))

    eventually(candidates, what="the catalogue of A to list LIB-B")
    r = httpx.post(
        f"{a.url}/requests",
        json={"work": WORK, "reader_ref": "BD-0042", "service_type": service_type},
        headers={"Authorization": f"Bearer {a.key}"},
        timeout=10,
        verify=a.verify,
    )
    assert r.status_code == 201, r.text
    ours = uuid.UUID(r.json()["id"])
    assert r.json()["supplier"] == "LIB-B"
    theirs = peer_request_id("LIB-A", str(ours))

    def arrived() -> bool:
        try:
            return b.request(theirs).status.value == "RequestReceived"
        except Exception:
            return False

    eventually(arrived, what="the request to reach B")
    return ours, theirs


def on_loan(a: Side, b: Side, item: str = f"LIB-B-{WORK}-1") -> tuple[Any, Any]:
    """A loan at A's reader: LIB-A borrows, LIB-B lends `item`, A confirms its receipt;
    both sides Received. Our request's id on A and theirs on B."""
    ours, theirs = borrow(a, b)
    b.act(theirs, "Loaned", item_id=item)
    both(a, ours, b, theirs, "Loaned", "Loaned")
    a.act(ours, "Received")
    both(a, ours, b, theirs, "Received", "Received")
    return ours, theirs


def speak_2017(a: Side, b: Side) -> None:
    """Each side's peer reconfigured for the 2017 schema (same URL, same secret)."""
    for side, peer, url in ((a, "LIB-B", b.url), (b, "LIB-A", a.url)):
        side.system.entry.act(
            ADMIN,
            ConfigureIsoPeer(
                peer, f"Outside {peer}", "ISIL", peer, f"{url}/iso18626", schema="2017"
            ),
        )


def recorded(side: Side, request_id: Any, event: str = "MarkedOverdue") -> int:
    """How many `event`s the request has on `side` (its event store: never marked twice)."""
    events = side.system.app.repository.event_store.get(request_id)
    return sum(type(e).__name__ == event for e in events)


def both(a: Side, ours: Any, b: Side, theirs: Any, status_a: str, status_b: str) -> None:
    eventually(
        lambda: (
            (a.request(ours).status.value, b.request(theirs).status.value) == (status_a, status_b)
        ),
        what=f"A {status_a} and B {status_b}",
    )


def every_message_confirmed(side: Side, request_id: Any) -> None:
    """Every message `side` sent on the request was confirmed OK. (The other side may
    act on the last one before this side has recorded its confirmation: it is waited for.)"""

    def sent() -> list[dict[str, Any]]:
        return [m for m in side.messages(request_id) if m["direction"] == "out"]

    with suppress(AssertionError):
        eventually(lambda: all(m["status"] == "OK" for m in sent() or [{"status": ""}]))
    assert sent() and all(m["status"] == "OK" for m in sent()), sent()
