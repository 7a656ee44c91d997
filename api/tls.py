"""Serving over HTTPS, with the client certificates of ISO 18626 peers (mutual TLS, ADR
0028 as amended 2026-12-02). `LIBSHARE_TLS_CERTFILE` / `_KEYFILE` serve HTTPS; with
`LIBSHARE_TLS_CLIENT_CA`, a client may present a certificate, which the TLS handshake
verifies against those CAs (a certificate they did not sign ends the connection), and
the app is told which one it was in the ASGI TLS extension's `client_cert_chain`. A
client without a certificate still connects (the librarians, the web UI): the ISO 18626
endpoint is where a peer configured for mutual TLS must have presented its own. With
`LIBSHARE_TLS_CRL_FILE`, the handshake also refuses a client certificate its CA has
revoked (or whose CA has no current CRL in that file: fail closed)."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from infra.certificates import check_revocation
from infra.settings import Settings

App = Any  # an ASGI application


class ClientCertificateProtocol(HttpToolsProtocol):
    """uvicorn's HTTP/1.1 protocol, passing on the client certificate of the connection."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        ssl_object = transport.get_extra_info("ssl_object")
        der = ssl_object.getpeercert(binary_form=True) if ssl_object is not None else None
        if der:
            self.app = _with_certificate(self.app, ssl.DER_cert_to_PEM_cert(der))


def _with_certificate(app: App, pem: str) -> App:
    async def with_certificate(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            scope.setdefault("extensions", {})["tls"] = {"client_cert_chain": [pem]}
        await app(scope, receive, send)

    return with_certificate


def client_certificate(scope: Mapping[str, Any]) -> str:
    """The PEM client certificate the TLS handshake verified, or ""."""
    chain = ((scope.get("extensions") or {}).get("tls") or {}).get("client_cert_chain") or []
    return str(chain[0]) if chain else ""


def server_options(settings: Settings) -> dict[str, Any]:
    """uvicorn's options for HTTPS (none: plain HTTP)."""
    if settings.tls_certfile is None:
        if settings.tls_client_ca is not None:
            raise ValueError("LIBSHARE_TLS_CLIENT_CA needs LIBSHARE_TLS_CERTFILE (HTTPS)")
        return {}
    options: dict[str, Any] = {"ssl_certfile": str(settings.tls_certfile)}
    if settings.tls_keyfile is not None:
        options["ssl_keyfile"] = str(settings.tls_keyfile)
    if settings.tls_client_ca is not None:
        options.update(
            ssl_ca_certs=str(settings.tls_client_ca),
            ssl_cert_reqs=ssl.CERT_OPTIONAL,
            http=ClientCertificateProtocol,
        )
        if settings.tls_crl_file is not None:  # (read when uvicorn loads: at start-up)
            options["ssl_context_factory"] = _revocation_checked(settings.tls_crl_file)
    return options


def _revocation_checked(crl_file: Path) -> Callable[[Any, Callable[[], ssl.SSLContext]], Any]:
    def factory(config: Any, default: Callable[[], ssl.SSLContext]) -> ssl.SSLContext:
        context = default()
        check_revocation(context, crl_file)
        return context

    return factory
