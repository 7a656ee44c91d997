"""Traces go where the environment says: to the console, or to an OTLP collector."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ONE_SPAN = (
    "from opentelemetry import trace\n"
    "from infra.settings import Settings\n"
    "from infra.tracing import configure_tracing, tracer\n"
    "configure_tracing(Settings())\n"
    "with tracer('libshare.test').start_as_current_span('register_library'):\n"
    "    pass\n"
    "trace.get_tracer_provider().shutdown()\n"
)


def run(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", ONE_SPAN],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )


def test_the_console_exporter_prints_each_span() -> None:
    out = run({"LIBSHARE_TRACE_EXPORTER": "console"}).stdout
    assert '"name": "register_library"' in out and '"service.name": "libshare"' in out


def test_the_otlp_exporter_posts_spans_to_the_collector() -> None:
    received: list[tuple[str, str, bytes]] = []

    class Collector(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((self.path, self.headers["Content-Type"], body))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Collector)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        endpoint = f"http://127.0.0.1:{server.server_port}/v1/traces"
        run({"LIBSHARE_TRACE_EXPORTER": "otlp", "LIBSHARE_OTLP_ENDPOINT": endpoint})
    finally:
        server.shutdown()
    ((path, content_type, body),) = received
    assert path == "/v1/traces" and content_type == "application/x-protobuf"
    assert b"register_library" in body


def test_without_an_exporter_nothing_is_printed() -> None:
    assert "register_library" not in run({"LIBSHARE_TRACE_EXPORTER": "none"}).stdout
