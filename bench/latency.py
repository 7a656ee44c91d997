"""End-to-end latency: from an HTTP command's acceptance (its response) to the moment its
library is visible in the read model, at a steady command rate, on the Kafka path
(relay -> Kafka -> projection). By default the system runs as docker-compose.yml runs it
in production: `libshare serve --no-workers`, `libshare relay` and `libshare projector`,
each its own process; `layout="one-process"` measures `libshare serve` with its relay and
projector threads, as `make run` does. This process only sends commands and watches the
read model.

The saturation point (ADR 0034) is the highest of a rising series of rates at which the
p99 stays within SATURATION_P99_MS and the commands are accepted at the rate asked for
(at least ACHIEVED of it): past it, either the latency or the API gives way."""

from __future__ import annotations

import http.client
import json
import statistics
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import psycopg

from bench.baselines import STEADY_AFTER, raw_pipeline_latency
from bench.figures import figure
from bench.kafka_projection import wait_until_settled
from bench.processes import free_port, start_process, start_projectors
from infra.envelope import Envelope, kafka_headers
from infra.settings import Settings

RATE = 200  # commands/s of the latency aims (issue 18)
LAYOUT_NAMES = {"processes": "production layout", "one-process": "one process (serve)"}
SATURATION_P99_MS = 50.0
ACHIEVED = 0.95  # of the rate asked for, accepted in the window, for a rate to count
SATURATION_RATES = (25, 50, 100, 150, 200, 300, 400, 600, 800, 1000)


@dataclass(frozen=True)
class Run:
    """One rate's figure: each timed command's latency (ms) and the rate accepted."""

    rate: int
    achieved: float  # commands/s accepted over the timed window
    latencies: list[float]
    # Each timed command's library code -> when it was answered and seen (perf_counter).
    accepted: dict[str, float] = field(default_factory=dict, repr=False)
    visible: dict[str, float] = field(default_factory=dict, repr=False)

    @property
    def p50(self) -> float:
        return statistics.median(self.latencies)

    @property
    def p99(self) -> float:
        return statistics.quantiles(self.latencies, n=100)[98]

    @property
    def held(self) -> bool:
        """Within the saturation point's bounds."""
        return self.p99 <= SATURATION_P99_MS and self.achieved >= ACHIEVED * self.rate


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
    name = f"bench-admin-{uuid.uuid4().hex[:6]}"  # one per layout started on this store
    try:
        system.accounts.open_account(bench, name, "Benchmark", roles=["network_admin"])
        return system.accounts.issue_api_key(bench, name, "latency benchmark")[1]
    finally:
        system.close()


@dataclass(frozen=True)
class Served:
    """A layout running: where its API listens and the key its commands carry."""

    settings: Settings
    port: int
    key: str


@contextmanager
def serving(settings: Settings, layout: str = "processes") -> Iterator[Served]:
    """The layout started (and its consumer group settled), stopped on leaving."""
    key = _network_admin_key(settings)
    port = free_port()
    procs = _serve(settings, port, layout)
    try:
        yield Served(settings, port, key)
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(20)


def timed_commands(served: Served, rate: int, seconds: float) -> Run:
    """`rate` commands/s for STEADY_AFTER seconds (untimed) and then `seconds` (timed),
    each command's latency from its answer to its library in the read model."""
    run = uuid.uuid4().hex[:6].upper()  # new libraries each run: a repeat is visible at once
    accepted: dict[str, float] = {}
    visible: dict[str, float] = {}
    done = threading.Event()

    def watch() -> None:
        with psycopg.connect(served.settings.database_url or "", autocommit=True) as conn:
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
    headers = {"Authorization": f"Bearer {served.key}", "Content-Type": "application/json"}

    def command(i: int | str) -> None:
        # http.client, not httpx: the load generator shares the machine's two cores with
        # the system it measures, and httpx costs several times its CPU per request.
        if not hasattr(local, "conn"):
            local.conn = http.client.HTTPConnection("127.0.0.1", served.port)
        code = f"E2E-{run}-{i}"
        body = {"code": code, "name": "Thư viện", "kind": "school", "locality": "X"}
        local.conn.request("POST", "/libraries", json.dumps(body).encode(), headers)
        response = local.conn.getresponse()
        response.read()
        if response.status >= 300:
            raise RuntimeError(f"POST /libraries answered {response.status}")
        accepted[code] = time.perf_counter()

    n = int(rate * seconds)
    try:
        # Steady state, not start-up: one command through the whole pipeline, untimed.
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
        done.set()
    timed = [c for c in accepted if not c.startswith(f"E2E-{run}-W")]  # W: warming up
    window = max(accepted[c] for c in timed) - (start + STEADY_AFTER)
    return Run(
        rate,
        len(timed) / max(window, seconds),
        [(visible[c] - accepted[c]) * 1000 for c in timed if c in visible],
        {c: accepted[c] for c in timed},
        {c: visible[c] for c in timed if c in visible},
    )


def end_to_end_latency(
    settings: Settings, rate: int, seconds: float, layout: str = "processes"
) -> list[float]:
    with serving(settings, layout) as served:
        return timed_commands(served, rate, seconds).latencies


def saturation(
    settings: Settings,
    seconds: float,
    layout: str = "processes",
    rates: Sequence[int] = SATURATION_RATES,
) -> tuple[int | None, list[Run]]:
    """The highest of `rates` (rising) whose run holds (`Run.held`), on one layout
    started once, and every run up to the first that did not hold. None: not even the
    first did."""
    runs: list[Run] = []
    point = None
    with serving(settings, layout) as served:
        for rate in rates:
            runs.append(timed_commands(served, rate, seconds))
            if not runs[-1].held:
                break
            point = rate
    return point, runs


def latency_figures(
    settings: Settings, sample: Envelope, rounds: int, seconds: float
) -> list[dict[str, Any]]:
    """Issue 18's aim 5: p50 / p99 at RATE commands/s on both layouts, ROUNDS rounds in
    which the raw pipeline and the two layouts take turns (each a median with its min and
    max), the rate the API accepted, and each layout's saturation point."""
    bootstrap = settings.kafka_bootstrap_servers or ""
    raw: list[list[float]] = []
    runs: dict[str, list[Run]] = {"processes": [], "one-process": []}
    for i in range(rounds):
        raw.append(
            raw_pipeline_latency(
                settings.database_url or "",
                bootstrap,
                f"{settings.kafka_topic_prefix}.raw-pipeline-{i}",
                RATE,
                seconds,
                sample.payload,
                kafka_headers(sample),
            )
        )
        for layout, done in runs.items():
            with serving(settings, layout) as served:
                done.append(timed_commands(served, RATE, seconds))
    raw50 = [statistics.median(r) for r in raw]
    raw99 = [statistics.quantiles(r, n=100)[98] for r in raw]
    out = []
    for layout, aim in (("processes", 15.0), ("one-process", 30.0)):
        done, name = runs[layout], LAYOUT_NAMES[layout]
        p50s, p99s = [r.p50 for r in done], [r.p99 for r in done]
        achieved = [r.achieved for r in done]
        p50, p99 = statistics.median(p50s), statistics.median(p99s)
        out.append(
            figure(
                f"end-to-end p50 (ms), {name}, {RATE}/s",
                p50,
                statistics.median(raw50),
                None,
                None,
                "ms",
                p50s,
                raw50,
            )
        )
        out.append(
            figure(
                f"end-to-end p99 (ms), {name}, {RATE}/s",
                p99,
                statistics.median(raw99),
                f"<= {aim:.0f} ms",
                p99 <= aim,
                "ms",
                p99s,
                raw99,
            )
        )
        out.append(
            figure(
                f"  commands/s accepted, {name}, {RATE}/s asked",
                statistics.median(achieved),
                None,
                f">= {ACHIEVED * RATE:.0f}/s",
                statistics.median(achieved) >= ACHIEVED * RATE,
                "commands/s",
                achieved,
            )
        )
    for layout, name in LAYOUT_NAMES.items():
        point, tried = saturation(settings, seconds, layout)
        found = figure(
            f"saturation point (commands/s, p99 <= {SATURATION_P99_MS:.0f} ms), {name}",
            point or 0,
            None,
            None,
            None,
            "commands/s",
        )
        found["runs"] = [
            {
                "rate": r.rate,
                "achieved": round(r.achieved, 1),
                "p50": round(r.p50, 1),
                "p99": round(r.p99, 1),
            }
            for r in tried
        ]
        out.append(found)
    return out
