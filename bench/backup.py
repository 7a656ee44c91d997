"""Backup and restore figures (ADR 0024), each beside a raw baseline on the same rows in the
same run: `libshare backup` against a binary COPY of the events table out; a restore's
write against a binary COPY of the same rows into an empty table like it; the restore
from Kafka against one kafka-python consumer reading as many records. `make bench` runs
them on its store; `python -m bench.backup` alone (KAFKA_BOOTSTRAP_SERVERS set) fills a
store of BENCH_EVENTS (default 20000) first. Times per million events are extrapolated
from the rates (the work is linear in the events)."""

from __future__ import annotations

import io
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import psycopg

from bench.baselines import make_topic, raw_consume, raw_produce
from bench.figures import figure, print_table
from composition.bootstrap import System, bootstrap
from composition.restore import restore_archive, restore_from_kafka
from domain.library import Library
from infra.backup_archive import Sealing
from infra.backup_make import make_backup
from infra.database import EmbeddedPostgres, ensure_database
from infra.envelope import kafka_headers
from infra.log_reader import LogPosition
from infra.logs import configure_logging
from infra.settings import Settings

SEALING = Sealing(passphrase="bench passphrase, not a secret")


def raw_copy_out(url: str) -> tuple[bytes, int, float]:
    """The events table as binary COPY: its bytes, rows and rows/s."""
    buf = io.BytesIO()
    with psycopg.connect(url) as conn:
        started = time.perf_counter()
        with conn.cursor().copy("COPY libshare_events TO STDOUT (FORMAT binary)") as copy:
            for chunk in copy:
                buf.write(chunk)
        elapsed = time.perf_counter() - started
        row = conn.execute("SELECT count(*) FROM libshare_events").fetchone()
    rows = int(row[0]) if row else 0
    return buf.getvalue(), rows, rows / elapsed


def raw_copy_in(url: str, data: bytes, rows: int) -> float:
    """Rows/s of a binary COPY of `data` into an empty table like the events table
    (its keys and indexes too), committed."""
    with psycopg.connect(url) as conn:
        conn.execute("DROP TABLE IF EXISTS bench_copy_in")
        conn.execute("CREATE TABLE bench_copy_in (LIKE libshare_events INCLUDING ALL)")
        conn.commit()
        started = time.perf_counter()
        with conn.cursor().copy("COPY bench_copy_in FROM STDIN (FORMAT binary)") as copy:
            copy.write(data)
        conn.commit()
        elapsed = time.perf_counter() - started
        conn.execute("DROP TABLE bench_copy_in")
        conn.commit()
    return rows / elapsed


def per_million(rate: float) -> float:
    return 1_000_000 / rate if rate > 0 else float("inf")


def backup_figures(
    system: System, server_url: str, raw_topic: str | None = None
) -> list[dict[str, Any]]:
    """The figures on `system`'s store, whose events the relay has published to Kafka."""
    url = system.db.url
    s = system.settings
    out = []
    data, rows, raw_out = raw_copy_out(url)
    with tempfile.TemporaryDirectory() as folder:
        archive = Path(folder) / "bench.lsbak"
        started = time.perf_counter()
        manifest = make_backup(system.db, s, archive, SEALING)
        ours_out = manifest["events"]["count"] / (time.perf_counter() - started)
        out.append(figure("backup (libshare backup)", ours_out, raw_out, None, None, "events/s"))
        target_url = ensure_database(server_url, f"bench_restore_{uuid.uuid4().hex[:8]}")
        raw_in = raw_copy_in(url, data, rows)
        target = bootstrap(s.model_copy(update={"database_url": target_url}), configure=False)
        try:
            report = restore_archive(target, archive, SEALING)
            kafka_target_url = ensure_database(server_url, f"bench_kafka_{uuid.uuid4().hex[:8]}")
        finally:
            target.close()
    events = report.events
    out.append(
        figure("restore from a backup: write", events / report.write_seconds, raw_in,
               None, None, "events/s")
    )  # fmt: skip
    out.append(
        figure("restore from a backup: check, write, rebuild every read model",
               report.events_per_second, raw_in, None, None, "events/s")
    )  # fmt: skip
    target = bootstrap(s.model_copy(update={"database_url": kafka_target_url}), configure=False)
    try:
        from_kafka = restore_from_kafka(target)
    finally:
        target.close()
    raw_read = None
    if raw_topic is not None and s.kafka_bootstrap_servers:
        raw_read = raw_consume(s.kafka_bootstrap_servers, raw_topic, from_kafka.events)
    out.append(
        figure("restore from Kafka: read the topics",
               from_kafka.events / from_kafka.read_seconds, raw_read, None, None, "events/s")
    )  # fmt: skip
    out.append(
        figure("restore from Kafka: read, write, rebuild every read model",
               from_kafka.events_per_second, raw_read, None, None, "events/s")
    )  # fmt: skip
    for f in out:
        f["seconds_per_million_events"] = round(per_million(f["value"]), 1)
    return out


def main() -> int:
    configure_logging("WARNING")
    kafka = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if not kafka:
        print("KAFKA_BOOTSTRAP_SERVERS is not set", file=sys.stderr)
        return 2
    root = Path(__file__).resolve().parent.parent
    server_url = os.environ.get("DATABASE_URL") or EmbeddedPostgres(root / ".data" / "bench").url
    url = ensure_database(server_url, f"bench_{uuid.uuid4().hex[:8]}")
    prefix = f"bench-{uuid.uuid4().hex[:8]}"
    settings = Settings(
        database_url=url, kafka_bootstrap_servers=kafka, kafka_topic_prefix=prefix,
        load_demo=False, run_workers=False, data_dir=root / ".data" / "bench-keys",
    )  # fmt: skip
    system = bootstrap(settings, configure=False)
    try:
        target = int(os.environ.get("BENCH_EVENTS", "20000"))
        for n in range(0, target, 100):
            system.app.save(
                *(Library.register(f"F-{n + i}", "Thư viện", "school", "X") for i in range(100))
            )
        relay = system.make_relay()
        while relay.relay_once():
            pass
        relay.release()
        with psycopg.connect(url, autocommit=True) as conn:
            sample = system.reader.read(conn, LogPosition(), 1)[0]
        raw_topic = f"{prefix}.raw"
        make_topic(kafka, raw_topic, settings.kafka_partitions)
        raw_produce(kafka, raw_topic, target, sample.payload, kafka_headers(sample))
        out = backup_figures(system, server_url, raw_topic)
    finally:
        system.close()
    print_table(out)
    for f in out:
        print(f"{f['name']}: {f['seconds_per_million_events']} s per million events")
    return 0


if __name__ == "__main__":
    sys.exit(main())
