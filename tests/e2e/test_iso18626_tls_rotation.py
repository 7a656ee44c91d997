"""Mutual TLS with ISO 18626 peers, the day after (ADR 0028, amended 2026-12-02 (3)): a
client certificate of ours named for one peer, a peer's certificate rotated with two pins
for the cut-over, and revocation lists checked by our server's handshake and by the
outbox. Two libshare instances over real HTTPS, certificates and CRLs made at test time."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from api.tls import server_options
from composition.bootstrap import System
from domain.errors import NotFound
from infra.certificates import client_context
from infra.iso18626_xml import read_confirmation
from services.iso_inbound import peer_request_id
from tests.e2e.callers import api_key_for
from tests.e2e.iso_instances import (
    WORK,
    Side,
    answers,
    borrow,
    every_message_confirmed,
    pin_peer,
    request_from_lib_a,
    second_database,
    two_instances,
)
from tests.e2e.tls_world import Issued, Pki, pki
from tests.integration.support import eventually

__all__ = ["pki", "second_database"]  # fixtures, used by name


def _post_to_b(b: Side, pki: Pki, their: str, client: Issued) -> httpx.Response:
    """LIB-A's request, sent to B directly with `client`'s certificate."""
    context = client_context(pki.ca.cert, client.cert, client.key)
    return httpx.post(
        f"{b.url}/iso18626", content=request_from_lib_a(their), verify=context, timeout=10
    )


def _new_request(a: Side, reader: str) -> uuid.UUID:
    r = httpx.post(
        f"{a.url}/requests",
        json={"work": WORK, "reader_ref": reader},
        headers={"Authorization": f"Bearer {a.key}"},
        timeout=10,
        verify=a.verify,
    )
    assert r.status_code == 201, r.text
    return uuid.UUID(r.json()["id"])


def _sent(side: Side, request_id: uuid.UUID) -> list[dict[str, Any]]:
    return [m for m in side.messages(request_id) if m["direction"] == "out"]


def test_a_peer_is_presented_the_client_certificate_named_for_it(
    make_system: Callable[..., System], second_database: str, pki: Pki
) -> None:
    for_b = pki.authority.issue("lib-a-for-b")
    named = {"iso18626_client_certs": {"for-b": [for_b.cert, for_b.key]}}
    with two_instances(make_system, second_database, pki=pki, extra=(named, {})) as (a, b):
        eventually(lambda: answers(b), what="B to serve HTTPS")
        # B takes LIB-A's messages with the certificate made for it only, not A's default
        pin_peer(b.system, "LIB-A", f"{a.url}/iso18626", for_b)
        admin = {"Authorization": f"Bearer {api_key_for(a.system, 'net', 'network_admin')}"}
        peer = {
            "library": "LIB-B",
            "name": "Outside LIB-B",
            "agency_id_type": "ISIL",
            "agency_id_value": "LIB-B",
            "url": f"{b.url}/iso18626",
            "auth": "mutual-tls",
        }

        def configure(**more: Any) -> httpx.Response:
            return httpx.post(
                f"{a.url}/iso18626/peers",
                json={**peer, **more},
                headers=admin,
                verify=a.verify,
                timeout=10,
            )

        unknown = configure(client_identity="for-c")
        assert unknown.status_code == 422, unknown.text
        assert unknown.headers["content-type"].startswith("application/problem+json")
        assert unknown.json()["type"].endswith("invalid-input")
        assert "'for-c' is not one of ours" in unknown.json()["detail"]
        chosen = configure(client_identity="for-b")
        assert chosen.status_code == 201 and chosen.json()["client_identity"] == "for-b"

        ours, _ = borrow(a, b)  # (B took it: A presented the certificate for B)
        every_message_confirmed(a, ours)

        # An outbox where that name is not configured: nothing sent, the failure recorded
        bare = make_system(
            iso18626_xsd_dir=a.system.settings.iso18626_xsd_dir,
            iso18626_ca_file=pki.ca.cert,
            iso18626_client_cert=pki.client_a.cert,
            iso18626_client_key=pki.client_a.key,
            database_url=a.system.settings.database_url,
        )
        a.system.stop_event.set()  # (A's own outbox stops: only the bare one sends)
        time.sleep(0.5)
        second = _new_request(a, "BD-0043")
        outbox = bare.make_iso_outbox()
        while outbox.run_once():
            pass
        (sent,) = _sent(a, second)
        assert sent["status"] == "" and "'for-b' is not configured here" in sent["error"], sent
        with pytest.raises(NotFound):
            b.request(peer_request_id("LIB-A", str(second)))


def test_two_pins_during_a_rotation_then_the_old_certificate_is_refused(
    make_system: Callable[..., System], second_database: str, pki: Pki
) -> None:
    renewed = pki.authority.issue("lib-a-2027")
    with two_instances(make_system, second_database, pki=pki) as (a, b):
        eventually(lambda: answers(b), what="B to serve HTTPS")
        pin_peer(b.system, "LIB-A", f"{a.url}/iso18626", pki.client_a, renewed)  # the cut-over
        for their, client in (("R-1", pki.client_a), ("R-2", renewed)):
            r = _post_to_b(b, pki, their, client)
            assert r.status_code == 200 and read_confirmation(r.content)[0] == "OK", r.text
        summary = b.system.iso_peers.peer("LIB-A") if b.system.iso_peers else None
        assert summary is not None and len(summary.certificate_sha256s) == 2

        pin_peer(b.system, "LIB-A", f"{a.url}/iso18626", renewed)  # the old one removed
        old = _post_to_b(b, pki, "R-3", pki.client_a)
        assert old.status_code == 401, old.text
        assert old.headers["content-type"].startswith("application/problem+json")
        new = _post_to_b(b, pki, "R-4", renewed)
        assert new.status_code == 200 and read_confirmation(new.content)[0] == "OK", new.text
        with pytest.raises(NotFound):
            b.request(peer_request_id("LIB-A", "R-3"))
        for their in ("R-1", "R-2", "R-4"):
            assert b.request(peer_request_id("LIB-A", their)).status.value == "RequestReceived"


def test_revoked_certificates_are_refused_at_the_handshake_both_ways(
    make_system: Callable[..., System], second_database: str, pki: Pki, tmp_path: Path
) -> None:
    ca = pki.authority
    # A's CRL revokes the server certificate B serves; B's revokes LIB-A's client one
    a_crl = {"tls_crl_file": ca.crl("a", (pki.server,))}
    b_crl = {"tls_crl_file": ca.crl("b", (pki.client_a,))}
    with two_instances(make_system, second_database, pki=pki, extra=(a_crl, b_crl)) as (a, b):
        eventually(lambda: answers(b), what="B to serve HTTPS")  # (no client certificate: served)
        # LIB-A's revoked certificate, pinned on B: the handshake refuses it
        with pytest.raises(httpx.HTTPError):
            _post_to_b(b, pki, "V-1", pki.client_a)
        with pytest.raises(NotFound):
            b.request(peer_request_id("LIB-A", "V-1"))
        # B's own client certificate is not revoked: it gets past the handshake (to 401)
        assert _post_to_b(b, pki, "V-2", pki.client_b).status_code == 401

        # A's outbox refuses B's revoked server certificate: not sent, not retried
        eventually(lambda: bool(a.system.candidate_finder(WORK)), what="the catalogue of A")
        ours = _new_request(a, "BD-0044")
        eventually(lambda: bool(_sent(a, ours)), what="A to record its attempt")
        (sent,) = _sent(a, ours)
        assert sent["status"] == "" and sent["attempts"] == 1, sent
        assert "server certificate refused" in sent["error"], sent
        assert "certificate revoked" in sent["error"], sent
        with pytest.raises(NotFound):
            b.request(peer_request_id("LIB-A", str(ours)))

        # Fail closed: an expired CRL refuses every certificate of its CA
        expired = client_context(pki.ca.cert, crl_file=ca.crl("old", expired=True))
        with pytest.raises(httpx.HTTPError, match="expired"):
            httpx.get(f"{b.url}/health", verify=expired, timeout=5)

    # ... and a CRL file that is missing stops the start, of the outbox and of the server
    missing = tmp_path / "missing.crl"
    with pytest.raises(OSError):
        client_context(pki.ca.cert, crl_file=missing)
    settings = a.system.settings.model_copy(update={"tls_crl_file": missing})
    config = uvicorn.Config(_no_app, **server_options(settings))
    with pytest.raises(OSError):
        config.load()


async def _no_app(scope: Any, receive: Any, send: Any) -> None:
    """(An ASGI app for a server that never starts.)"""
