"""How cost grows with the network (issue 18, aim 6), for the table in bench/README.md:

- creating a request (routing over the catalogue: the work's holders, each one's policy,
  active loans and merges), p50/p99 of `POST /requests` against `libshare serve` in its
  own process (as `make run` serves: projections in the same process, no Kafka), with the
  demo network, and with the demo network grown to `COST_LIBRARIES` libraries and
  `COST_HOLDINGS` holdings; the peak RSS of that `libshare serve`;
- a rebuild from the notification log at `COST_EVENTS` (comma-separated) stored events,
  events/s beside the raw read of the same rows; and a `libshare projector` process
  catching up from nothing over the same store (once: its start-up included), its
  events/s and its peak RSS.

`COST_ONLY=requests` runs the request figures alone. Request and rebuild figures are
the medians of `BENCH_ROUNDS` (3) rounds, each printed.

`python -m bench.cost_growth` (no Kafka needed; about twenty minutes at the issue's
sizes). The libraries and the works asked for are registered as events (through the
services the commands call). The rest of the million holdings (works no one asks for) are
written straight into the catalogue's read models, as bench/catalogue.py does for search:
a million holdings as events would take the run an hour and measure the import, not
routing."""

from __future__ import annotations

import http.client
import json
import os
import random
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import psycopg

from bench.__main__ import fill_to, stored_events
from bench.baselines import raw_log_read
from bench.catalogue import _title
from bench.processes import free_port, start_process
from composition.bootstrap import System, bootstrap
from composition.demo_network import load_demo
from infra.database import EmbeddedPostgres, ensure_database
from infra.gc_tuning import tune_gc
from infra.logs import configure_logging
from infra.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
LIBRARIES = int(os.environ.get("COST_LIBRARIES", "1000"))
HOLDINGS = int(os.environ.get("COST_HOLDINGS", "1000000"))
EVENTS = [int(n) for n in os.environ.get("COST_EVENTS", "100000,1000000").split(",")]
REQUESTS = int(os.environ.get("COST_REQUESTS", "300"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))  # each figure: the median of the rounds
ASKED_WORKS = 200  # works registered as events, the ones requests ask for
HOLDERS = 4  # holdings per work
ACTOR = {"account": "bench", "role": "network_admin"}
KINDS = ("district", "district", "school")  # communes are district-kind libraries
LOCALITIES = ("Phủ Lý", "Duy Tiên", "Kim Bảng", "Thanh Liêm", "Bình Lục", "Lý Nhân")


def _settings(url: str) -> Settings:
    return Settings(database_url=url, load_demo=False, run_workers=False)


def _grow(system: System, libraries: int, holdings: int) -> list[str]:
    """The demo network grown to `libraries` libraries and `holdings` holdings; returns
    the codes of the works to ask for (registered, with holders, through commands)."""
    rng = random.Random(5)
    codes = [f"C-{n:04d}" for n in range(max(0, libraries - 13))]  # the demo has 13
    # The services the entry's commands call (bench/ does not import services/).
    catalogue, copies = system.entry.catalogue, system.entry.copies
    for code in codes:
        kind, place = rng.choice(KINDS), rng.choice(LOCALITIES)
        catalogue.register_library(ACTOR, code, f"Thư viện {code}", kind, place)
    asked = []
    for n in range(ASKED_WORKS):
        work = f"W-ASK{n}"
        catalogue.register_work(ACTOR, code=work, title=_title(rng), kind="book")
        for lib in rng.sample(codes, HOLDERS):
            catalogue.register_holding(ACTOR, work, lib, 1)
            copies.register_counted(ACTOR, work, lib, 1)  # as RegisterHolding does
        asked.append(work)
    rest = max(0, holdings - ASKED_WORKS * HOLDERS)
    works = max(1, rest // HOLDERS)
    with system.db.transaction() as conn, conn.cursor() as cur:
        with cur.copy(
            "COPY catalogue_works (code, id, title, creator, kind, language, shipping, "
            "digital, visible_to) FROM STDIN"
        ) as copy:
            for n in range(works):
                row = (f"W-G{n}", uuid.uuid4(), _title(rng), "", "book", "vi", "allowed")
                copy.write_row((*row, False, []))
        with cur.copy(
            "COPY catalogue_holdings (id, work, library, digital_lendable) FROM STDIN"
        ) as copy:
            for n in range(rest):
                copy.write_row((uuid.uuid4(), f"W-G{n % works}", codes[n % len(codes)], 0))
        with cur.copy(
            "COPY catalogue_copies (id, barcode, work, owner, holder, status) FROM STDIN"
        ) as copy:
            for n in range(rest):
                lib = codes[n % len(codes)]
                copy.write_row((uuid.uuid4(), f"G{n}", f"W-G{n % works}", lib, lib, "on_shelf"))
    with system.db.connect(autocommit=True) as conn:
        for table in ("catalogue_works", "catalogue_holdings", "catalogue_copies"):
            conn.execute(f"VACUUM ANALYZE {table}")
    return asked


def _librarian_key(system: System, library: str) -> str:
    name = f"cost-{uuid.uuid4().hex[:6]}"
    system.accounts.open_account(ACTOR, name, "Thủ thư", library=library, roles=["librarian"])
    return system.accounts.issue_api_key(ACTOR, name, "cost benchmark")[1]


def _caught_up(url: str) -> bool:
    """Every projection has passed every stored event (its lag is 0, as /projections says)."""
    with psycopg.connect(url, autocommit=True) as conn:
        (total,) = conn.execute("SELECT count(*) FROM libshare_events").fetchone() or (0,)
        try:
            rows = conn.execute("SELECT seen FROM projection_state").fetchall()
        except psycopg.errors.UndefinedTable:
            return False
    return len(rows) > 1 and all(seen >= total for (seen,) in rows)


def _peak_rss_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    line = next(x for x in status.splitlines() if x.startswith("VmHWM:"))
    return int(line.split()[1]) / 1024


DEMO_ASKED = ["W-KIEU", "W-CHIPHEO", "W-SODO", "W-DEMEN", "W-TATDEN"]  # held elsewhere too


class Network:
    """One network in a database of its own, served by its own `libshare serve`."""

    def __init__(self, label: str, server_url: str, grow: bool) -> None:
        self.label = label
        self.url = ensure_database(server_url, f"cost_{uuid.uuid4().hex[:8]}")
        self.settings = _settings(self.url)
        system = bootstrap(self.settings, configure=False)
        try:
            system.make_runner()
            load_demo(system)
            self.asked = _grow(system, LIBRARIES, HOLDINGS) if grow else DEMO_ASKED
            key = _librarian_key(system, "HNM-TVT")
        finally:
            system.close()
        self.headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
        self.port = free_port()
        name = f"cost-serve-{'grown' if grow else 'demo'}"
        self.proc = start_process(self.settings, self.port, "serve", log_name=name)
        self.conn: http.client.HTTPConnection | None = None
        self.times: list[list[float]] = []
        self.routed = 0

    def ready(self) -> None:
        deadline = time.monotonic() + 600
        while not _caught_up(self.url):
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise RuntimeError(f"libshare serve ({self.label}) did not catch up")
            time.sleep(0.5)
        self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)

    def request(self, work: str, reader: str) -> tuple[float, bool]:
        """One POST /requests: its ms, and whether it found a holder."""
        assert self.conn is not None
        body = json.dumps({"work": work, "reader_ref": reader}).encode()
        started = time.perf_counter()
        self.conn.request("POST", "/requests", body, self.headers)
        response = self.conn.getresponse()
        text = response.read()
        elapsed = (time.perf_counter() - started) * 1000
        if response.status >= 300:
            raise RuntimeError(f"POST /requests: {response.status}: {text[:300]!r}")
        return elapsed, bool(json.loads(text)["rota"])

    def result(self) -> dict[str, Any]:
        if self.routed < ROUNDS * REQUESTS // 2:  # most must reach a holder: routing
            raise RuntimeError(f"{self.label}: {self.routed} requests found a holder")
        p50s = [statistics.median(t) for t in self.times]
        p99s = [statistics.quantiles(t, n=100)[98] for t in self.times]
        return {
            "label": self.label,
            "routed": self.routed,
            "p50_ms": statistics.median(p50s),
            "p99_ms": statistics.median(p99s),
            "p50_rounds": p50s,
            "p99_rounds": p99s,
            "serve_peak_rss_mb": _peak_rss_mb(self.proc.pid),
        }

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(30)


def request_costs(server_url: str) -> list[dict[str, Any]]:
    """p50/p99 ms of POST /requests and each serve process's peak RSS, the demo network
    and the grown one taking turns request by request (the machine's load is shared)."""
    networks = [
        Network("demo network", server_url, grow=False),
        Network(f"{LIBRARIES} libraries, {HOLDINGS:,} holdings", server_url, grow=True),
    ]
    try:
        for network in networks:
            network.ready()
        rng = random.Random(9)
        for r in range(ROUNDS):
            for network in networks:
                network.times.append([])
            for n in range(REQUESTS + 20):
                for network in networks:
                    ms, routed = network.request(rng.choice(network.asked), f"BD-{r}-{n:04d}")
                    if n >= 20:  # the first ones of a round warm the caches, untimed
                        network.times[-1].append(ms)
                        network.routed += routed
        return [network.result() for network in networks]
    finally:
        for network in networks:
            network.stop()


def rebuild_costs(server_url: str, events: int) -> dict[str, Any]:
    """A `libshare projector` process catching up from nothing over `events` stored
    events (its events/s and peak RSS); then a rebuild of them beside the raw read."""
    url = ensure_database(server_url, f"cost_{uuid.uuid4().hex[:8]}")
    settings = _settings(url)
    system = bootstrap(settings, configure=False)
    try:
        fill_to(system, events)
        total = stored_events(system)
    finally:
        system.close()
    proc = start_process(settings, None, "projector", "--source", "log", log_name="cost-projector")
    started = time.perf_counter()
    try:
        deadline = time.monotonic() + 1800
        while not _caught_up(url):
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError("libshare projector did not catch up")
            time.sleep(0.2)
        seconds = time.perf_counter() - started
        rss = _peak_rss_mb(proc.pid)
    finally:
        proc.terminate()
        proc.wait(30)
    system = bootstrap(settings, configure=False)
    try:
        tune_gc()
        raws, rebuilds = [], []
        for _ in range(ROUNDS):  # taking turns: the machine's speed drifts
            raws.append(raw_log_read(url)[1])
            rebuilds.append(system.rebuild("libraries").events_per_second)
    finally:
        system.close()
    return {
        "events": total,
        "rebuild_per_s": statistics.median(rebuilds),
        "raw_read_per_s": statistics.median(raws),
        "rebuild_rounds": rebuilds,
        "raw_read_rounds": raws,
        "projector_per_s": total / seconds,
        "projector_peak_rss_mb": rss,
    }


def _span(rounds: list[float]) -> str:
    return f"[{min(rounds):,.1f}–{max(rounds):,.1f}]"


def main() -> int:
    configure_logging("WARNING")
    server_url = os.environ.get("DATABASE_URL") or EmbeddedPostgres(ROOT / ".data" / "bench").url
    load = os.getloadavg()
    results: dict[str, Any] = {"load_average_at_start": load, "requests": [], "rebuilds": []}
    results["requests"] = request_costs(server_url)
    for n in EVENTS if os.environ.get("COST_ONLY") != "requests" else []:
        results["rebuilds"].append(rebuild_costs(server_url, n))
    results["load_average_at_end"] = os.getloadavg()
    Path("bench/results").mkdir(parents=True, exist_ok=True)
    Path("bench/results/cost_growth.json").write_text(json.dumps(results, indent=2))
    for r in results["requests"]:
        print(
            f"create a request, {r['label']}: p50 {r['p50_ms']:.1f} ms {_span(r['p50_rounds'])}, "
            f"p99 {r['p99_ms']:.1f} ms {_span(r['p99_rounds'])}; "
            f"libshare serve peak RSS {r['serve_peak_rss_mb']:.0f} MB; "
            f"{r['routed']} of the requests found a holder"
        )
    for r in results["rebuilds"]:
        print(
            f"{r['events']:,} events: rebuild {r['rebuild_per_s']:,.0f}/s "
            f"{_span(r['rebuild_rounds'])} (raw read {r['raw_read_per_s']:,.0f}/s "
            f"{_span(r['raw_read_rounds'])}); projector from nothing "
            f"{r['projector_per_s']:,.0f}/s, peak RSS {r['projector_peak_rss_mb']:.0f} MB"
        )
    print(f"load average {load} -> {results['load_average_at_end']}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
