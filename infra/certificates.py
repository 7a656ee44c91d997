"""X.509 certificates for mutual TLS with ISO 18626 peers (ADR 0028, 2026-12-02): the
fingerprint a peer's client certificate is pinned by, and the TLS contexts the outbox
connects to peers with (the CAs it trusts for their server certificates, the client
certificate it presents: the network-wide one or one named for the peer)."""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from pathlib import Path
from typing import NamedTuple

from cryptography import x509
from cryptography.hazmat.primitives import hashes

from domain.errors import InvalidInput
from infra.settings import Settings


def fingerprint(pem: str) -> str:
    """The SHA-256 fingerprint (hex, lower case) of a PEM certificate."""
    try:
        certificate = x509.load_pem_x509_certificate(pem.encode())
    except ValueError:
        raise InvalidInput("client_certificate is not a PEM X.509 certificate") from None
    return certificate.fingerprint(hashes.SHA256()).hex()


def client_context(
    ca_file: Path | None, cert_file: Path | None = None, key_file: Path | None = None
) -> ssl.SSLContext:
    """A context that verifies the server's certificate (against `ca_file`, else the
    system's CAs) and, with `cert_file`, presents that client certificate."""
    context = ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
    if cert_file is not None:
        context.load_cert_chain(str(cert_file), str(key_file) if key_file else None)
    return context


class OutboxTls(NamedTuple):
    verify: ssl.SSLContext | bool  # for every peer's server certificate
    identity: ssl.SSLContext | None  # also presents ours: for peers on mutual TLS
    identities: Mapping[str, ssl.SSLContext] = {}  # or the one named for a peer


def outbox_tls(settings: Settings) -> OutboxTls:
    """The outbox's TLS, from settings; files that cannot be read fail at start-up."""
    ca = settings.iso18626_ca_file
    cert, key = settings.iso18626_client_cert, settings.iso18626_client_key
    identities = {}
    for name, files in settings.iso18626_client_certs.items():
        if not 1 <= len(files) <= 2:
            raise ValueError(f"LIBSHARE_ISO18626_CLIENT_CERTS {name!r}: [cert] or [cert, key]")
        identities[name] = client_context(ca, files[0], files[1] if len(files) > 1 else None)
    return OutboxTls(
        client_context(ca) if ca else True,
        client_context(ca, cert, key) if cert else None,
        identities,
    )
