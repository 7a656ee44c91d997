"""`make bench`: each figure beside its raw baseline, measured in the same run on the same
machine, printed and written to bench/results/latest.json. Aims are checked here, never
in tests. Needs KAFKA_BOOTSTRAP_SERVERS (make bench starts a broker)."""

from __future__ import annotations

import json
import os
import platform
import statistics
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import psycopg

from bench.audit_log import audit_figures
from bench.backup import backup_figures
from bench.baselines import (
    WARM_UP,
    make_topic,
    raw_commits,
    raw_consume,
    raw_log_read,
    raw_produce,
)
from bench.catalogue import catalogue_figures
from bench.figures import figure, median_figure, print_table
from bench.kafka_projection import held, projectors, rate_until
from bench.latency import latency_figures
from bench.processes import PROJECTORS
from bench.rebuilds import parallel_rebuild_figures
from composition.bootstrap import System, bootstrap
from domain.library import Library
from infra.database import EmbeddedPostgres, ensure_database
from infra.envelope import kafka_headers
from infra.gc_tuning import tune_gc
from infra.kafka_log import all_topics
from infra.logs import configure_logging
from infra.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
SECONDS = float(os.environ.get("BENCH_SECONDS", "3"))
TARGET_EVENTS = int(os.environ.get("BENCH_EVENTS", "30000"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))  # appends and rebuild: median of rounds
# BENCH_ONLY=write: the appends and rebuild figures alone (no broker needed);
# BENCH_ONLY=latency: the end-to-end latency figures and saturation points alone;
# BENCH_ONLY=relay: the relay figure alone (ROUNDS rounds taking turns with raw produce).
ONLY = os.environ.get("BENCH_ONLY", "")
WRITE_ONLY = ONLY == "write"
# Who the appends record as acting (every command names its actor, as the API's do).
BENCH_ACTOR = {"account": "bench", "role": "network_admin"}


def appends(system: System, clients: int, seconds: float) -> float:
    appends_for(system, clients, WARM_UP)  # untimed: connections opened, statements prepared
    return appends_for(system, clients, seconds)


def appends_for(system: System, clients: int, seconds: float) -> float:
    counts = [0] * clients
    stop = time.perf_counter() + seconds

    def work(i: int) -> None:
        while time.perf_counter() < stop:
            code = f"B{clients}-{i}-{uuid.uuid4().hex[:8]}"
            system.catalogue.register_library(BENCH_ACTOR, code, "Thư viện", "school", "X")
            counts[i] += 1

    started = time.perf_counter()
    threads = [threading.Thread(target=work, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(counts) / (time.perf_counter() - started)


def stored_events(system: System) -> int:
    """Events in the store. Not the highest notification id: a rolled-back insert leaves
    a gap in the ids (an idempotent repeat of a registration does exactly that)."""
    with system.db.transaction() as conn:
        (n,) = conn.execute("SELECT count(*) FROM libshare_events").fetchone() or (0,)
    return int(n)


def batched_appends(system: System, seconds: float) -> float:
    """Events/s saving 100 new libraries per call, for `seconds`."""
    run = uuid.uuid4().hex[:6]
    n, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        libs = [Library.register(f"G-{run}-{n + i}", "Thư viện", "school", "X") for i in range(100)]
        system.app.save(*libs)
        n += 100
    return n / (time.perf_counter() - started)


def fill_to(system: System, target: int) -> None:
    """Save 100 new libraries per call until the store holds `target` events."""
    have = stored_events(system)
    n = 0
    while have + n < target:
        libs = [Library.register(f"F-{n + i}", "Thư viện", "school", "X") for i in range(100)]
        system.app.save(*libs)
        n += 100


def main() -> int:
    configure_logging("WARNING")
    bootstrap_servers = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if not bootstrap_servers and not WRITE_ONLY:
        print("KAFKA_BOOTSTRAP_SERVERS is not set: run `make bench`", file=sys.stderr)
        return 2
    server_url = os.environ.get("DATABASE_URL") or EmbeddedPostgres(ROOT / ".data" / "bench").url
    url = ensure_database(server_url, f"bench_{uuid.uuid4().hex[:8]}")
    prefix = f"bench-{uuid.uuid4().hex[:8]}"
    settings = Settings(
        database_url=url,
        kafka_bootstrap_servers=bootstrap_servers or "127.0.0.1:9092",
        kafka_topic_prefix=prefix,
        load_demo=False,
        run_workers=False,
    )
    system = bootstrap(settings, configure=False)
    out: list[dict[str, Any]] = []
    if ONLY in ("latency", "relay") and bootstrap_servers:
        try:  # a figure alone, on its own store (ADR 0034)
            if ONLY == "latency":
                system.catalogue.register_library(BENCH_ACTOR, "BENCH-1", "Thư viện", "school", "X")
                out += latency_figures(settings, _sample(system, url), ROUNDS, max(SECONDS, 5))
            else:
                out += relay_figure(system, settings, url)
        finally:
            system.close()
        return finish(out)
    try:
        # Raw and ours take turns, ROUNDS times; each figure is the median of its rounds.
        # The machine's speed drifts (shared hosts): turns keep each ratio fair.
        rounds: dict[str, list[float]] = {"raw1": [], "es1": [], "raw16": [], "es16": []}
        for _ in range(ROUNDS):
            rounds["raw1"].append(raw_commits(url, 1, SECONDS))
            rounds["es1"].append(appends(system, 1, SECONDS))
            rounds["raw16"].append(raw_commits(url, 16, SECONDS))
            rounds["es16"].append(appends(system, 16, SECONDS))
        raw1, es1, raw16, es16 = (statistics.median(rounds[k]) for k in rounds)
        out.append(
            figure(
                "event-store appends/s, 1 client",
                es1,
                raw1,
                ">= 60% of raw commits",
                es1 >= 0.6 * raw1,
                "events/s",
                rounds["es1"],
                rounds["raw1"],
            )
        )
        out.append(
            figure(
                "event-store appends/s, 16 clients (group commit, ADR 0030)",
                es16,
                raw16,
                ">= 100% of raw commits",
                es16 >= raw16,
                "events/s",
                rounds["es16"],
                rounds["raw16"],
            )
        )
        batched = batched_appends(system, SECONDS)
        fill_to(system, TARGET_EVENTS)
        out.append(
            figure(
                "event-store appends/s, 100 aggregates per save",
                batched,
                raw1,
                None,
                None,
                "events/s",
            )
        )
        total = stored_events(system)
        if WRITE_ONLY:  # appends and the rebuild only: no Kafka, no latency (ADR 0030)
            tune_gc()
            out.append(rebuild_figure(system, url))
            out += parallel_rebuild_figures(system, url, TARGET_EVENTS, ROUNDS)
            return finish(out)
        if bootstrap_servers is None:
            return 2

        # Kafka first: a rebuild sets a floor under which a projector drops what the
        # rebuilt tables already hold, so after it the Kafka figure would apply nothing.
        # From here on this process stands for `libshare relay` and `libshare projections
        # rebuild`, which set the collector's threshold (ADR 0015); the appends above ran
        # with the default, as the API does.
        tune_gc()
        relay = system.make_relay()  # creates the topics
        sample = system.reader.read(relay_conn(url), _start(), 1)[0]
        raw_topic = f"{prefix}.raw"
        make_topic(bootstrap_servers, raw_topic, settings.kafka_partitions)
        raw_prod = raw_produce(
            bootstrap_servers, raw_topic, total, sample.payload, kafka_headers(sample)
        )
        # The projectors join their group on empty topics and wait on the projections'
        # locks, held here, while the relay is timed (bench/kafka_projection.py).
        with projectors(settings, f"{prefix}-projections"):
            with held(system):
                started, sent = time.perf_counter(), 0
                while n := relay.relay_once():
                    sent += n
                relay_rate = sent / (time.perf_counter() - started)
                relay.release()
            proj_rate = rate_until(lambda: projected(system), total)
        out.append(
            figure(
                "relay to Kafka",
                relay_rate,
                raw_prod,
                ">= 80% of raw produce",
                relay_rate >= 0.8 * raw_prod,
                "events/s",
            )
        )
        raw_cons = raw_consume(bootstrap_servers, raw_topic, total)
        aim = 50_000 if PROJECTORS >= 2 else 30_000  # issue 18, aim 3
        out.append(
            figure(
                f"projection from Kafka ({PROJECTORS} projector process(es), one group)",
                proj_rate,
                raw_cons,
                f">= {aim:,} events/s",
                proj_rate >= aim,
                "events/s",
            )
        )

        out.append(rebuild_figure(system, url))
        # Backup and restore (ADR 0024), on this store, all of it on Kafka by now.
        out += backup_figures(system, server_url, raw_topic)

        # The verifiable log (bench/audit_log.py) before the latency figures: their `serve`
        # runs the log worker over this store, which left nothing to append (0 events/s).
        out.extend(audit_figures(system, figure))
        out += latency_figures(settings, sample, ROUNDS, max(SECONDS, 5))
        # The union catalogue: MARC21 import and search (ADR 0025), in a database of its own.
        out += catalogue_figures(server_url, figure)
    finally:
        system.close()
    return finish(out)


def finish(out: list[dict[str, Any]]) -> int:
    """Write bench/results/latest.json and print the table."""
    result = {
        "machine": platform.node(),
        "cpus": os.cpu_count(),
        "events": TARGET_EVENTS,
        "rounds": ROUNDS,
        "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "figures": out,
    }
    (ROOT / "bench" / "results").mkdir(exist_ok=True)
    (ROOT / "bench" / "results" / "latest.json").write_text(json.dumps(result, indent=2))
    print_table(out)
    return 0


def rebuild_figure(system: System, url: str) -> dict[str, Any]:
    """The libraries rebuild, ROUNDS rounds taking turns with the raw log read."""
    raw_reads, rebuilds = [], []
    for _ in range(ROUNDS):
        raw_reads.append(raw_log_read(url)[1])
        rebuilds.append(system.rebuild("libraries").events_per_second)
    return median_figure(
        "rebuild from the notification log",
        rebuilds,
        raw_reads,
        ">= 100,000 events/s",
        lambda ours, _raw: ours >= 100_000,
        "events/s",
    )


def _sample(system: System, url: str) -> Any:
    """The store's first event (its payload and headers are the raw baselines'), once
    the relay has made the topics."""
    system.make_relay().release()
    with relay_conn(url) as conn:
        return system.reader.read(conn, _start(), 1)[0]


def relay_figure(system: System, settings: Settings, url: str) -> list[dict[str, Any]]:
    """The relay against raw produce (same settings, payload and headers), ROUNDS rounds
    taking turns: each round a relay of its own name publishes the whole store again, once
    reading the next batch while the last one's acks are awaited (as `libshare relay`
    does) and once a batch at a time (read, send, acks, store: as before), ADR 0034."""
    fill_to(system, TARGET_EVENTS)
    total = stored_events(system)
    tune_gc()  # as `libshare relay` does (ADR 0015)
    sample = _sample(system, url)
    bootstrap_servers = settings.kafka_bootstrap_servers or ""
    ours: list[float] = []
    one_at_a_time: list[float] = []
    raws: list[float] = []
    for i in range(ROUNDS):
        raw_topic = f"{settings.kafka_topic_prefix}.raw{i}"
        make_topic(bootstrap_servers, raw_topic, settings.kafka_partitions)
        raws.append(
            raw_produce(bootstrap_servers, raw_topic, total, sample.payload, kafka_headers(sample))
        )
        for ahead, rates in ((None, ours), (0, one_at_a_time)):
            rates.append(relay_rate(system, f"bench-{i}-{ahead}", ahead))
    return [
        median_figure(
            "relay to Kafka",
            ours,
            raws,
            ">= 80% of raw produce",
            lambda mine, raw: mine >= 0.8 * raw,
            "events/s",
        ),
        median_figure(
            "relay to Kafka, a batch at a time (before)",
            one_at_a_time,
            raws,
            ">= 80% of raw produce (for comparison)",
            lambda mine, raw: mine >= 0.8 * raw,
            "events/s",
        ),
    ]


def relay_rate(system: System, name: str, batches_ahead: int | None) -> float:
    """Events/s of a fresh relay republishing the whole store; its producer is started
    and has the topics' metadata before the clock starts, as raw produce's has."""
    relay = system.make_relay(name)
    if batches_ahead is not None:
        relay.batches_ahead = batches_ahead
    relay.producer = relay.make_producer()
    for topic in all_topics(relay.prefix):
        relay.producer.partitions_for(topic)
    started, sent = time.perf_counter(), 0
    while n := relay.relay_once():
        sent += n
    rate = sent / (time.perf_counter() - started)
    relay.close()
    return rate


def relay_conn(url: str) -> psycopg.Connection[Any]:
    return psycopg.connect(url, autocommit=True)


def _start() -> Any:
    from infra.log_reader import LogPosition

    return LogPosition()


def projected(system: System) -> int:
    """Distinct events the `libraries` projection has passed through."""
    with system.db.transaction() as conn:
        row = conn.execute(
            "SELECT seen FROM projection_state WHERE projection = 'libraries'"
        ).fetchone()
    return int(row[0]) if row else 0


if __name__ == "__main__":
    sys.exit(main())
