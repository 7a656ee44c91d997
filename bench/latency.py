"""End-to-end latency: from an HTTP command's acceptance (its response) to the moment its
library is visible in the read model, at a steady command rate, on the Kafka path
(relay -> Kafka -> projection). By default the system runs as docker-compose.yml runs it
in production: `libshare serve --no-workers`, `libshare relay` and `libshare projector`,
each its own process; `layout="one-process"` measures `libshare serve` with its relay and
projector threads, as `make run` does. This process only sends commands and watches the
read model."""

from __future__ import annotations

import http.client
import json
import subprocess
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
import psycopg

from bench.baselines import STEADY_AFTER
from bench.kafka_projection import wait_until_settled
from bench.processes import free_port, start_process, start_projectors
from infra.settings import Settings


def _serve(settings: Settings, port: int, layout: str) -> list[subprocess.Popen[bytes]]:
    """The API and its workers: in one process (`serve`), or as docker-compose.yml runs
    them in production: `serve --no-workers`, `relay`, and PROJECTORS `projector`
    processes in one consumer group."""
    projectors = start_projectors(settings) if layout == "processes" else []
    if layout == "processes":
        procs = [
            start_process(settings, port, "serve", "--no-workers"),
            start_process(settings, port, "relay"),
            *projectors,
        ]
    else:
        procs = [start_process(settings, port, "serve")]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                if projectors:  # settled: no rebalance while the figure is timed
                    _settle(settings, projectors, procs)
                return procs
        except httpx.HTTPError:
            time.sleep(0.2)
    for proc in procs:
        proc.kill()
    with psycopg.connect(settings.database_url or "", autocommit=True) as conn:
        waiting = conn.execute(
            "SELECT pid, state, wait_event_type, wait_event, left(query, 120) "
            "FROM pg_stat_activity WHERE datname = current_database()"
        ).fetchall()
    raise RuntimeError(f"libshare serve did not start; sessions: {waiting}")


def _settle(
    settings: Settings,
    projectors: list[subprocess.Popen[bytes]],
    procs: list[subprocess.Popen[bytes]],
) -> None:
    try:
        group = f"{settings.kafka_topic_prefix}-projections"
        wait_until_settled(settings.kafka_bootstrap_servers or "", group, projectors)
    except Exception:
        for proc in procs:
            proc.kill()
        raise


def _network_admin_key(settings: Settings) -> str:
    """An API key for the commands (registering a library is a network admin's)."""
    from composition.bootstrap import bootstrap

    system = bootstrap(settings, configure=False)
    bench = {"account": "bench", "role": "network_admin"}
    try:
        system.accounts.open_account(bench, "bench-admin", "Benchmark", roles=["network_admin"])
        return system.accounts.issue_api_key(bench, "bench-admin", "latency benchmark")[1]
    finally:
        system.close()


def end_to_end_latency(
    settings: Settings, rate: int, seconds: float, layout: str = "processes"
) -> list[float]:
    key = _network_admin_key(settings)
    port = free_port()
    procs = _serve(settings, port, layout)
    run = uuid.uuid4().hex[:6].upper()  # new libraries each run: a repeat is visible at once
    accepted: dict[str, float] = {}
    visible: dict[str, float] = {}
    done = threading.Event()

    def watch() -> None:
        with psycopg.connect(settings.database_url or "", autocommit=True) as conn:
            while not done.is_set() or len(visible) < len(accepted):
                pending = [c for c in list(accepted) if c not in visible]
                if pending:
                    now = time.perf_counter()
                    for (code,) in conn.execute(
                        "SELECT code FROM libraries WHERE code = ANY(%s)", (pending,)
                    ).fetchall():
                        visible[code] = now
                time.sleep(0.001)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    local = threading.local()
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}

    def command(i: int | str) -> None:
        # http.client, not httpx: the load generator shares the machine's two cores with
        # the system it measures, and httpx costs several times its CPU per request.
        if not hasattr(local, "conn"):
            local.conn = http.client.HTTPConnection("127.0.0.1", port)
        code = f"E2E-{run}-{i}"
        body = {"code": code, "name": "Thư viện", "kind": "school", "locality": "X"}
        local.conn.request("POST", "/libraries", json.dumps(body).encode(), headers)
        response = local.conn.getresponse()
        response.read()
        if response.status >= 300:
            raise RuntimeError(f"POST /libraries answered {response.status}")
        accepted[code] = time.perf_counter()

    try:
        # Steady state, not start-up: one command through the whole pipeline, untimed.
        n = int(rate * seconds)
        command(n)
        deadline = time.perf_counter() + 60
        while f"E2E-{run}-{n}" not in visible and time.perf_counter() < deadline:
            time.sleep(0.01)
        accepted.clear()
        visible.clear()
        # The first STEADY_AFTER seconds at the rate are sent but not timed: the figure
        # is the steady state (pools grown, caches and the broker's fetch sessions warm).
        warm = int(rate * STEADY_AFTER)
        start = time.perf_counter()
        with ThreadPoolExecutor(8) as pool:
            sent = []
            for i in range(warm + n):
                delay = start + i / rate - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
                sent.append(pool.submit(command, i - warm if i >= warm else f"W{i}"))
        done.set()
        for future in sent:
            future.result()  # a refused or failed command fails the figure, not thins it
        watcher.join(timeout=30)
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(20)
    timed = [c for c in accepted if not c.startswith(f"E2E-{run}-W")]  # W: warming up
    return [(visible[c] - accepted[c]) * 1000 for c in timed if c in visible]
