"""X.509 certificates for mutual TLS with ISO 18626 peers (ADR 0028, 2026-12-02): the
fingerprint a peer's client certificate is pinned by, the TLS contexts the outbox
connects to peers with (the CAs it trusts for their server certificates, the client
certificate it presents: the network-wide one or one named for the peer), and the
revocation lists both our server and the outbox check certificates against."""

from __future__ import annotations

import re
import ssl
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import NamedTuple

import structlog
from cryptography import x509
from cryptography.hazmat.primitives import hashes

from domain.errors import InvalidInput
from infra.settings import Settings

log = structlog.get_logger("libshare.certificates")
_CRL = re.compile(rb"-----BEGIN X509 CRL-----.+?-----END X509 CRL-----", re.DOTALL)


def fingerprint(pem: str) -> str:
    """The SHA-256 fingerprint (hex, lower case) of a PEM certificate."""
    try:
        certificate = x509.load_pem_x509_certificate(pem.encode())
    except ValueError:
        raise InvalidInput("client_certificate is not a PEM X.509 certificate") from None
    return certificate.fingerprint(hashes.SHA256()).hex()


def check_crl_file(path: Path) -> None:
    """Fail closed at start-up: a CRL file that is missing, unreadable or holds no CRL
    stops the start (ValueError, OSError). One that has expired already is logged; its
    CA's certificates are then refused at the handshake, until a current one is put in."""
    crls = [x509.load_pem_x509_crl(pem) for pem in _CRL.findall(path.read_bytes())]
    if not crls:
        raise ValueError(f"LIBSHARE_TLS_CRL_FILE {path}: no PEM X509 CRL in it")
    now = datetime.now(UTC)
    for crl in crls:
        if crl.next_update_utc is not None and crl.next_update_utc < now:
            log.error(
                "expired CRL: its CA's certificates are refused",
                issuer=crl.issuer.rfc4514_string(),
                next_update=crl.next_update_utc.isoformat(),
            )


def check_revocation(context: ssl.SSLContext, crl_file: Path | None) -> None:
    """With `crl_file`, `context` refuses a peer's certificate that its CA's CRL revokes
    (or whose CA has no current CRL there: fail closed)."""
    if crl_file is not None:
        check_crl_file(crl_file)
        context.load_verify_locations(cafile=str(crl_file))
        context.verify_flags |= ssl.VERIFY_CRL_CHECK_LEAF


def client_context(
    ca_file: Path | None,
    cert_file: Path | None = None,
    key_file: Path | None = None,
    crl_file: Path | None = None,
) -> ssl.SSLContext:
    """A context that verifies the server's certificate (against `ca_file`, else the
    system's CAs; with `crl_file`, against its CRLs too) and, with `cert_file`, presents
    that client certificate."""
    context = ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
    check_revocation(context, crl_file)
    if cert_file is not None:
        context.load_cert_chain(str(cert_file), str(key_file) if key_file else None)
    return context


class OutboxTls(NamedTuple):
    verify: ssl.SSLContext | bool  # for every peer's server certificate
    identity: ssl.SSLContext | None  # also presents ours: for peers on mutual TLS
    identities: Mapping[str, ssl.SSLContext] = {}  # or the one named for a peer


def outbox_tls(settings: Settings) -> OutboxTls:
    """The outbox's TLS, from settings; files that cannot be read fail at start-up."""
    ca, crl = settings.iso18626_ca_file, settings.tls_crl_file
    cert, key = settings.iso18626_client_cert, settings.iso18626_client_key
    identities = {}
    for name, files in settings.iso18626_client_certs.items():
        if not 1 <= len(files) <= 2:
            raise ValueError(f"LIBSHARE_ISO18626_CLIENT_CERTS {name!r}: [cert] or [cert, key]")
        identities[name] = client_context(ca, files[0], files[1] if len(files) > 1 else None, crl)
    return OutboxTls(
        client_context(ca, crl_file=crl) if ca or crl else True,
        client_context(ca, cert, key, crl) if cert else None,
        identities,
    )
