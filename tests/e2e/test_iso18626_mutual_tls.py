"""Mutual TLS between ISO 18626 peers, for real (ADR 0028, amended 2026-12-02): two
libshare instances serve HTTPS with certificates made at test time, each configured with
the other as a peer on mutual TLS (its client certificate pinned). A loan goes and comes
back between them; a caller without a client certificate, with one our CA did not sign,
or with another peer's certificate is refused, and nothing changes."""

from __future__ import annotations

import os
import socket
import ssl
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator

import httpx
import pytest

from composition.bootstrap import System
from domain.errors import NotFound
from infra.certificates import client_context
from infra.iso18626_xml import read_confirmation
from services.commands import ConfigureIsoPeer
from services.iso_inbound import peer_request_id
from services.iso_peers import SECRET_HEADER
from tests.e2e.iso_instances import (
    WORK,
    Side,
    answers,
    borrow,
    both,
    every_message_confirmed,
    request_from_lib_a,
    second_database,
    two_instances,
)
from tests.e2e.iso_world import ADMIN, ROOT, SECRET, need_interop
from tests.e2e.tls_world import Pki, pki
from tests.integration.support import eventually

__all__ = ["pki", "second_database"]  # fixtures, used by name


@pytest.fixture
def tls_sides(
    make_system: Callable[..., System], second_database: str, pki: Pki
) -> Iterator[tuple[Side, Side]]:
    with two_instances(make_system, second_database, pki=pki) as (a, b):
        eventually(lambda: answers(b), what="B to serve HTTPS")
        yield a, b


def test_a_loan_goes_and_comes_back_over_mutual_tls(tls_sides: tuple[Side, Side]) -> None:
    a, b = tls_sides
    assert a.url.startswith("https://") and b.url.startswith("https://")
    ours, theirs = borrow(a, b)
    b.act(theirs, "Loaned", item_id=f"LIB-B-{WORK}-1")
    both(a, ours, b, theirs, "Loaned", "Loaned")
    a.act(ours, "Received")
    a.act(ours, "ShippedReturn")
    both(a, ours, b, theirs, "ShippedReturn", "ShippedReturn")
    b.act(theirs, "LoanCompleted")
    both(a, ours, b, theirs, "LoanCompleted", "LoanCompleted")
    every_message_confirmed(a, ours)
    every_message_confirmed(b, theirs)


def test_a_caller_without_the_peers_certificate_is_refused_and_changes_nothing(
    tls_sides: tuple[Side, Side], pki: Pki
) -> None:
    _, b = tls_sides
    url = f"{b.url}/iso18626"
    ca = pki.ca.cert

    def post(body: bytes, verify: ssl.SSLContext, **headers: str) -> httpx.Response:
        return httpx.post(url, content=body, headers=headers, verify=verify, timeout=10)

    # no client certificate, even with the secret LIB-A once had: 401
    trusting = client_context(ca)
    r = post(request_from_lib_a("T-1"), trusting, **{SECRET_HEADER: SECRET})
    assert r.status_code == 401 and "certificate" in r.json()["detail"]
    r = post(request_from_lib_a("T-1"), trusting)
    assert r.status_code == 401
    # a certificate our CA did not sign: the TLS handshake itself fails
    stranger = client_context(ca, pki.stranger.cert, pki.stranger.key)
    with pytest.raises(httpx.HTTPError):
        post(request_from_lib_a("T-2"), stranger)
    # a certificate our CA signed, but not the one pinned for LIB-A (it is B's own)
    impostor = client_context(ca, pki.client_b.cert, pki.client_b.key)
    r = post(request_from_lib_a("T-3"), impostor)
    assert r.status_code == 401 and r.headers["content-type"].startswith("application/problem+json")
    # LIB-A's own certificate: taken
    genuine = client_context(ca, pki.client_a.cert, pki.client_a.key)
    r = post(request_from_lib_a("T-4"), genuine)
    assert r.status_code == 200 and read_confirmation(r.content)[0] == "OK", r.text
    for their in ("T-1", "T-2", "T-3"):
        with pytest.raises(NotFound):
            b.request(peer_request_id("LIB-A", their))
    assert b.request(peer_request_id("LIB-A", "T-4")).status.value == "RequestReceived"


def test_an_outbox_without_our_client_certificate_records_why_it_sent_nothing(
    tls_sides: tuple[Side, Side], pki: Pki, make_system: Callable[..., System]
) -> None:
    a, b = tls_sides
    # A's outbox as if LIBSHARE_ISO18626_CLIENT_CERT were not set
    bare = make_system(
        iso18626_xsd_dir=a.system.settings.iso18626_xsd_dir,
        iso18626_ca_file=pki.ca.cert,
        database_url=a.system.settings.database_url,
    )
    eventually(lambda: bool(a.system.candidate_finder(WORK)), what="the catalogue of A")
    a.system.stop_event.set()  # (A's own outbox stops: only the bare one sends)
    time.sleep(0.5)
    r = httpx.post(
        f"{a.url}/requests",
        json={"work": WORK, "reader_ref": "BD-0043"},
        headers={"Authorization": f"Bearer {a.key}"},
        timeout=10,
        verify=a.verify,
    )
    assert r.status_code == 201, r.text
    ours = uuid.UUID(r.json()["id"])
    outbox = bare.make_iso_outbox()
    while outbox.run_once():
        pass
    (sent,) = [m for m in a.messages(ours) if m["direction"] == "out"]
    assert sent["status"] == "" and "no client certificate" in sent["error"], sent
    with pytest.raises(NotFound):
        b.request(peer_request_id("LIB-A", str(ours)))


def test_mutual_tls_needs_the_peers_certificate(
    make_system: Callable[..., System], pki: Pki
) -> None:
    from tests.e2e.iso_world import build_network

    system = make_system(iso18626_xsd_dir=need_interop())
    build_network(system, "LIB-B", "EXT-A", "https://a.example/iso18626", WORK)
    configure = ConfigureIsoPeer(
        "EXT-A", "A", "ISIL", "EXT-A", "https://a.example/iso18626", auth="mutual-tls"
    )
    with pytest.raises(Exception, match="client certificate"):
        system.entry.act(ADMIN, configure)
    with pytest.raises(Exception, match="not a PEM"):
        system.entry.act(
            ADMIN,
            ConfigureIsoPeer(
                "EXT-A",
                "A",
                "ISIL",
                "EXT-A",
                "https://a.example/iso18626",
                auth="mutual-tls",
                certificate="-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----\n",
            ),
        )
    summary = system.entry.act(
        ADMIN,
        ConfigureIsoPeer(
            "EXT-A",
            "A",
            "ISIL",
            "EXT-A",
            "https://a.example/iso18626",
            auth="mutual-tls",
            certificate=pki.client_a.pem,
        ),
    )
    assert summary["auth"] == "mutual-tls" and len(summary["certificate_sha256s"][0]) == 64


def test_libshare_serve_speaks_https_and_hands_the_client_certificate_on(
    database_url: str, pki: Pki
) -> None:
    """The real `libshare serve` process, configured as the README says."""
    xsd = need_interop()
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "LIBSHARE_PORT": str(port),
        "LIBSHARE_LOAD_DEMO": "false",
        "LIBSHARE_RUN_WORKERS": "false",
        "LIBSHARE_ISO18626_XSD_DIR": str(xsd),
        "LIBSHARE_TLS_CERTFILE": str(pki.server.cert),
        "LIBSHARE_TLS_KEYFILE": str(pki.server.key),
        "LIBSHARE_TLS_CLIENT_CA": str(pki.ca.cert),
    }
    env.pop("KAFKA_BOOTSTRAP_SERVERS", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "api", "serve"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"https://127.0.0.1:{port}"
    trusting = client_context(pki.ca.cert)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, (proc.stderr.read() if proc.stderr else b"").decode()
            try:
                if httpx.get(f"{url}/health", verify=trusting, timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                assert time.monotonic() < deadline, "serve never answered over HTTPS"
                time.sleep(0.2)
        with pytest.raises(httpx.HTTPError):  # no plain HTTP on that port
            httpx.get(f"http://127.0.0.1:{port}/health", timeout=2)
        body = request_from_lib_a("S-1")
        # without a certificate (or a secret) the endpoint does not know who is talking
        assert httpx.post(f"{url}/iso18626", content=body, verify=trusting).status_code == 401
        # with one our CA signed, it reaches the app: an agency it has no peer for
        genuine = client_context(pki.ca.cert, pki.client_a.cert, pki.client_a.key)
        r = httpx.post(f"{url}/iso18626", content=body, verify=genuine, timeout=10)
        assert r.status_code == 200 and read_confirmation(r.content)[:2] == (
            "ERROR",
            "UnrecognisedDataValue",
        ), r.text
        stranger = client_context(pki.ca.cert, pki.stranger.cert, pki.stranger.key)
        with pytest.raises(httpx.HTTPError):
            httpx.post(f"{url}/iso18626", content=body, verify=stranger, timeout=10)
    finally:
        proc.terminate()
        proc.wait(20)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
