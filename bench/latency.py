"""End-to-end latency: from an HTTP command's acceptance (its response) to the moment its
library is visible in the read model, at a steady command rate, on the Kafka path
(relay -> Kafka -> projection), with the API served by uvicorn on a real socket."""

from __future__ import annotations

import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import uvicorn

from api.app import create_app
from workers.bootstrap import System


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def end_to_end_latency(system: System, rate: int, seconds: float) -> list[float]:
    system.start_relay()
    system.start_projector()
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(system=system),
            host="127.0.0.1",
            port=port,
            log_config=None,
            access_log=False,
        )
    )
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    accepted: dict[str, float] = {}
    visible: dict[str, float] = {}
    done = threading.Event()

    def poll() -> None:
        with system.db.connect(autocommit=True) as conn:
            while not done.is_set() or len(visible) < len(accepted):
                pending = [c for c in accepted if c not in visible]
                if pending:
                    now = time.perf_counter()
                    for (code,) in conn.execute(
                        "SELECT code FROM libraries WHERE code = ANY(%s)", (pending,)
                    ).fetchall():
                        visible[code] = now
                time.sleep(0.001)

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    clients = threading.local()

    def command(i: int) -> None:
        if not hasattr(clients, "c"):
            clients.c = httpx.Client(base_url=f"http://127.0.0.1:{port}")
        code = f"E2E-{i}"
        r = clients.c.post(
            "/libraries", json={"code": code, "name": "Thư viện", "kind": "school", "locality": "X"}
        )
        r.raise_for_status()
        accepted[code] = time.perf_counter()

    n = int(rate * seconds)
    start = time.perf_counter()
    with ThreadPoolExecutor(8) as pool:
        for i in range(n):
            delay = start + i / rate - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            pool.submit(command, i)
    done.set()
    poller.join(timeout=30)
    server.should_exit = True
    return [(visible[c] - accepted[c]) * 1000 for c in accepted if c in visible]
