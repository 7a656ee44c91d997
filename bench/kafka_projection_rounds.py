"""The projection-from-Kafka figure alone, in rounds taking turns with the raw consumer,
with CPU per event read from /proc (robust to the machine's load, unlike events/s).

    KAFKA_BOOTSTRAP_SERVERS=... python -m bench.kafka_projection_rounds

The store is filled once; each round resets the read models and positions, relays the
store to fresh topics of its own, starts BENCH_PROJECTORS
`libshare projector` processes as bench/kafka_projection.py does (group settled, the
locks held until it is), and times them from letting go of the locks until
`projection_state.seen` counts every event; the raw kafka-python consumer reads the
same number of records (same payload and headers) just before, in the same round.
BENCH_CODE names another checkout whose code the projector processes run (to compare
commits on the same topics and store). Prints one line per round and the medians."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

from psycopg.conninfo import conninfo_to_dict

from bench.__main__ import _start as log_start
from bench.__main__ import fill_to, projected, relay_conn, stored_events
from bench.baselines import make_topic, raw_consume, raw_produce
from bench.kafka_projection import held, rate_until, wait_until_settled
from bench.processes import PROJECTORS, process_env
from composition.bootstrap import System, bootstrap
from infra.database import EmbeddedPostgres, ensure_database
from infra.envelope import kafka_headers
from infra.gc_tuning import tune_gc
from infra.kafka_log import new_producer
from infra.logs import configure_logging
from infra.settings import Settings
from workers.relay import Relay

ROOT = Path(__file__).resolve().parent.parent
EVENTS = int(os.environ.get("BENCH_EVENTS", "30000"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
CODES = os.environ.get("BENCH_CODE", str(ROOT)).split(":")  # checkouts taking turns
TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process (and its waited-for children), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(f) for f in fields[11:15]) / TICK


def server_pids(url_port: int) -> list[int]:
    """The postmaster of the server listening on `url_port` (its postmaster.pid files)."""
    pids = []
    for pidfile in (ROOT / ".data").glob("*/pg/postmaster.pid"):
        lines = pidfile.read_text().splitlines()
        if len(lines) > 3 and lines[3].strip() == str(url_port):
            pids.append(int(lines[0]))
    return pids


def children_of(parents: list[int]) -> list[int]:
    out = list(parents)
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            if ppid in parents:
                out.append(int(entry.name))
    return out


def server_cpu(postmasters: list[int]) -> float:
    total = 0.0
    for pid in children_of(postmasters):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / TICK  # own time only
    return total


def reset(system: System) -> None:
    """Read models, positions, versions and counts as before any event."""
    tables = [f'"{p.schema}"."{t}"' for p in system.projections for t in p.tables]
    with system.db.transaction() as conn:
        conn.execute(f"TRUNCATE {', '.join(tables)}, projection_positions, projection_versions")
        conn.execute("UPDATE projection_state SET seen = 0, floor_xid = 0, floor_nid = 0")


def start_projectors(settings: Settings, log_dir: Path, code: str) -> list[subprocess.Popen[bytes]]:
    procs = []
    for i in range(PROJECTORS):
        with open(log_dir / f"projector-{i}.log", "w") as log:
            procs.append(
                subprocess.Popen(
                    [sys.executable, "-m", "api", "projector", "--source", "kafka"],
                    cwd=code,
                    env={**process_env(settings, None), "PYTHONPATH": code},
                    stdout=subprocess.DEVNULL,
                    stderr=log,
                )
            )
    return procs


def _py_spy(pid: int, i: str) -> subprocess.Popen[bytes] | None:
    """BENCH_PYSPY=1: py-spy records the first projector while it is timed."""
    if not os.environ.get("BENCH_PYSPY"):
        return None
    out = ROOT / "bench" / "results" / f"projector-r{i}.spy.txt"
    spy = [str(Path(sys.executable).parent / "py-spy"), "record", "-f", "raw", "-r", "250"]
    return subprocess.Popen(
        [*spy, "-o", str(out), "--pid", str(pid)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def one_round(
    system: System, settings: Settings, total: int, postmasters: list[int], i: str, code: str
) -> dict[str, float]:
    """As bench/kafka_projection.py times it: fresh topics, the projectors' group settled
    on them while empty, the locks held while a relay of its own fills them."""
    reset(system)
    prefix = f"{settings.kafka_topic_prefix}-r{i}"
    rs = settings.model_copy(update={"kafka_topic_prefix": prefix})
    relay = Relay(
        system.db,
        system.reader,
        lambda: new_producer(rs.kafka_bootstrap_servers or "", rs.kafka_client_id),
        bootstrap=rs.kafka_bootstrap_servers or "",
        topic_prefix=prefix,
        partitions=rs.kafka_partitions,
        client_id=rs.kafka_client_id,
        name=f"kafka-r{i}",
    )
    relay.setup()  # creates the topics
    procs = start_projectors(rs, ROOT / "bench" / "results", code)
    try:
        wait_until_settled(rs.kafka_bootstrap_servers or "", f"{prefix}-projections", procs)
        with held(system):
            while relay.relay_once():
                pass
            relay.release()
            cpu0 = [cpu_seconds(p.pid) for p in procs]
            pg0 = server_cpu(postmasters)
            spy = _py_spy(procs[0].pid, i)
        rate = rate_until(lambda: projected(system), total)
        cpu1 = [cpu_seconds(p.pid) for p in procs]
        pg1 = server_cpu(postmasters)
        if spy is not None:
            spy.send_signal(2)
            spy.wait(30)
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(30)
    projector_us = sum(b - a for a, b in zip(cpu0, cpu1, strict=True)) / total * 1e6
    return {"ours": rate, "ours_us": projector_us, "pg_us": (pg1 - pg0) / total * 1e6}


def main() -> int:
    configure_logging("WARNING")
    bootstrap_servers = os.environ["KAFKA_BOOTSTRAP_SERVERS"]
    server_url = os.environ.get("DATABASE_URL") or EmbeddedPostgres(ROOT / ".data" / "bench").url
    url = ensure_database(server_url, f"bench_{uuid.uuid4().hex[:8]}")
    prefix = f"bench-{uuid.uuid4().hex[:8]}"
    settings = Settings(
        database_url=url,
        kafka_bootstrap_servers=bootstrap_servers,
        kafka_topic_prefix=prefix,
        load_demo=False,
        run_workers=False,
    )
    system = bootstrap(settings, configure=False)
    try:
        system.catalogue.register_library(
            {"account": "bench", "role": "network_admin"}, "BENCH-1", "Thư viện", "school", "X"
        )
        fill_to(system, EVENTS)
        total = stored_events(system)
        tune_gc()
        system.make_runner()  # the projections' tables
        sample = system.reader.read(relay_conn(url), log_start(), 1)[0]
        raw_topic = f"{prefix}.raw"
        make_topic(bootstrap_servers, raw_topic, settings.kafka_partitions)
        raw_produce(bootstrap_servers, raw_topic, total, sample.payload, kafka_headers(sample))
        port = int(conninfo_to_dict(url).get("port") or 5432)
        postmasters = server_pids(port)
        print(f"{total} events, {PROJECTORS} projector(s), codes {CODES}", flush=True)
        rounds: dict[str, list[dict[str, float]]] = {c: [] for c in CODES}
        for i in range(ROUNDS):
            load = os.getloadavg()
            c0 = time.process_time()
            raw = raw_consume(bootstrap_servers, raw_topic, total)
            raw_us = (time.process_time() - c0) / total * 1e6
            for j, code in enumerate(CODES):
                r = one_round(system, settings, total, postmasters, f"{i}-{j}", code)
                r.update(raw=raw, raw_us=raw_us)
                rounds[code].append(r)
                print(
                    f"round {i + 1} load {load[0]:.1f} {Path(code).name}: ours {r['ours']:,.0f}/s "
                    f"({r['ours_us']:.1f} us/event projectors, {r['pg_us']:.1f} us server), "
                    f"raw {raw:,.0f}/s ({raw_us:.1f} us/record), ratio {r['ours'] / raw:.2f}",
                    flush=True,
                )
        for code, rs in rounds.items():
            med = {k: statistics.median(r[k] for r in rs) for k in rs[0]}
            ratios = [r["ours"] / r["raw"] for r in rs]
            print(
                f"median {Path(code).name}: ours {med['ours']:,.0f}/s ({med['ours_us']:.1f} "
                f"us/event, server {med['pg_us']:.1f}), raw {med['raw']:,.0f}/s "
                f"({med['raw_us']:.1f} us), ratios {min(ratios):.2f}-{max(ratios):.2f}, "
                f"load now {os.getloadavg()[0]:.1f}",
                flush=True,
            )
    finally:
        system.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
