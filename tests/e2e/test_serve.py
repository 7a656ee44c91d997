"""`libshare serve` as `make run` starts it: a real process, the demo network on first
start only, the API over a real socket."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psycopg

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve(database_url: str, port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "DATABASE_URL": database_url, "LIBSHARE_PORT": str(port)}
    env.pop("KAFKA_BOOTSTRAP_SERVERS", None)
    return subprocess.Popen(
        [sys.executable, "-m", "api", "serve"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def wait_for_libraries(port: int, n: int, proc: subprocess.Popen[bytes]) -> list[dict[str, str]]:
    deadline = time.monotonic() + 120  # start, load the demo, project it: slow when loaded
    while time.monotonic() < deadline:
        assert proc.poll() is None, (proc.stderr.read() if proc.stderr else b"").decode()[-2000:]
        try:
            libs = httpx.get(f"http://127.0.0.1:{port}/libraries", timeout=2).json()
            if len(libs) >= n:
                return list(libs)
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError("the served API never showed the demo network")


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    proc.wait(20)


def test_serve_loads_the_demo_network_on_first_start_only(database_url: str) -> None:
    port = free_port()
    proc = serve(database_url, port)
    try:
        libs = wait_for_libraries(port, 16, proc)
        assert len(libs) == 16
        assert {"HNM-TVT", "HNM-QS", "HNM-S-BLY"} <= {lib["code"] for lib in libs}
        health = httpx.get(f"http://127.0.0.1:{port}/health").json()
        assert health["status"] == "ok" and health["database"]["ok"]
        # The demo accounts work as printed: a librarian signs in and sees her queue.
        signed_in = httpx.post(
            f"http://127.0.0.1:{port}/auth/token",
            data={"username": "thuthu.kb", "password": "libshare-demo"},
        )
        assert signed_in.status_code == 200, signed_in.text
        token = signed_in.json()["access_token"]
        queue = httpx.get(
            f"http://127.0.0.1:{port}/requests", headers={"Authorization": f"Bearer {token}"}
        )
        assert queue.status_code == 200 and queue.json() == []
    finally:
        stop(proc)
    printed = (proc.stderr.read() if proc.stderr else b"").decode()
    assert "Demo accounts (password: libshare-demo)" in printed and "thuthu.kb" in printed
    assert "API key (shown once): lsk_" in printed
    # Remove the last demo event (the partner's API key) behind the app's back: a reload of the demo
    # would record it again, so the count below tells whether the second start reloaded.
    with psycopg.connect(database_url) as conn:
        conn.execute(
            "DELETE FROM libshare_events WHERE notification_id = "
            "(SELECT max(notification_id) FROM libshare_events)"
        )
        (before,) = conn.execute("SELECT count(*) FROM libshare_events").fetchone() or (0,)
    proc = serve(database_url, port)  # a second start: the store is not empty
    try:
        wait_for_libraries(port, 16, proc)
    finally:
        stop(proc)
    with psycopg.connect(database_url) as conn:
        (after,) = conn.execute("SELECT count(*) FROM libshare_events").fetchone() or (0,)
    assert after == before
