"""Raw baselines: what PostgreSQL and kafka-python do on this machine without us."""

from __future__ import annotations

import os
import threading
import time
import uuid

import psycopg
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import KafkaAdminClient, NewTopic
from kafka.errors import KafkaTimeoutError

from infra.kafka_log import PRODUCER_SETTINGS

WARM_UP = 0.5  # seconds of untimed work before a timed window, for ours and the raw alike
STEADY_AFTER = 1.0  # latency figures: seconds at the rate, sent but not timed (both)
PAYLOAD = os.urandom(160)


def raw_commits(url: str, clients: int, seconds: float) -> float:
    """Single-row INSERT commits per second, `clients` connections in parallel."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS bench_raw")
        conn.execute("CREATE TABLE bench_raw (id uuid PRIMARY KEY, v int, payload bytea)")
    counts = [0] * clients
    warm = time.perf_counter() + WARM_UP
    stop = warm + seconds
    ready = threading.Barrier(clients + 1)

    def work(i: int) -> None:
        with psycopg.connect(url, autocommit=True) as c:
            while time.perf_counter() < warm:  # untimed, as for the event store
                c.execute(
                    "INSERT INTO bench_raw VALUES (%s, 1, %s)",
                    (uuid.uuid4(), PAYLOAD),
                    prepare=True,
                )
            ready.wait()
            while time.perf_counter() < stop:
                c.execute(
                    "INSERT INTO bench_raw VALUES (%s, 1, %s)",
                    (uuid.uuid4(), PAYLOAD),
                    prepare=True,
                )
                counts[i] += 1

    threads = [threading.Thread(target=work, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    ready.wait()
    started = time.perf_counter()
    for t in threads:
        t.join()
    return sum(counts) / (time.perf_counter() - started)


def raw_log_read(url: str, batch: int = 5000) -> tuple[int, float]:
    """Rows/s reading the whole notification log in id order, undecoded."""
    started = time.perf_counter()
    n, last = 0, 0
    with psycopg.connect(url) as conn:
        while True:
            rows = conn.execute(
                "SELECT notification_id, originator_id, originator_version, topic, state "
                "FROM libshare_events WHERE notification_id > %s ORDER BY notification_id LIMIT %s",
                (last, batch),
            ).fetchall()
            if not rows:
                break
            n += len(rows)
            last = rows[-1][0]
    return n, n / (time.perf_counter() - started)


def make_topic(bootstrap: str, name: str, partitions: int) -> None:
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        admin.create_topics([NewTopic(name, partitions, 1)])
    finally:
        admin.close()


def raw_produce(
    bootstrap: str, topic: str, n: int, value: bytes, headers: list[tuple[str, bytes]]
) -> float:
    producer = KafkaProducer(bootstrap_servers=bootstrap, **PRODUCER_SETTINGS)
    keys = [str(uuid.uuid4()).encode() for _ in range(1000)]
    # Untimed: the client's start, the new topic's metadata and its leaders elected (on a
    # loaded machine they took a noticeable part of the timed window, in retries).
    for attempt in range(6):  # each waits up to max_block_ms for the metadata
        try:
            producer.send(topic, key=keys[0], value=value, headers=headers).get(timeout=30)
            break
        except KafkaTimeoutError:
            if attempt == 5:
                raise
    started = time.perf_counter()
    for i in range(n):
        producer.send(topic, key=keys[i % 1000], value=value, headers=headers)
    producer.flush()
    rate = n / (time.perf_counter() - started)
    producer.close()
    return rate


def consumer_from_start(bootstrap: str, topic: str) -> KafkaConsumer:
    """A bare consumer of every partition of `topic`, from its first record."""
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        max_poll_records=2000,
        fetch_max_wait_ms=50,
    )
    deadline = time.monotonic() + 10  # a topic just made may not be in the metadata yet
    while not (known := consumer.partitions_for_topic(topic)) and time.monotonic() < deadline:
        time.sleep(0.1)
        consumer.topics()  # asks for fresh metadata
    parts = [TopicPartition(topic, p) for p in sorted(known or [])]
    consumer.assign(parts)
    consumer.seek_to_beginning(*parts)
    return consumer


def raw_consume(bootstrap: str, topic: str, n: int) -> float:
    """Records/s, timed from the first poll that returns records."""
    consumer = consumer_from_start(bootstrap, topic)
    got = 0
    started: float | None = None
    while got < n:
        polled = time.perf_counter()
        for batch in consumer.poll(timeout_ms=500).values():
            started = started or polled
            got += len(batch)
    rate = got / (time.perf_counter() - (started or polled))
    consumer.close()
    return rate


def raw_pipeline_latency(
    url: str,
    bootstrap: str,
    topic: str,
    rate: int,
    seconds: float,
    value: bytes,
    headers: list[tuple[str, bytes]],
) -> list[float]:
    """The raw pipeline under the end-to-end latency figure, in milliseconds per row: a bare
    INSERT that NOTIFYs in the same statement (committed) -> a LISTENing reader selects the
    new rows -> kafka-python produces each (the relay's settings, payload and headers) and
    flushes -> a kafka-python consumer sees it. `rate` rows/s for `seconds`, paced like the
    HTTP commands of our figure; one writer, so ids commit in order and the reader can
    follow them by id."""
    channel = "bench_pipeline"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS bench_pipeline")
        conn.execute("CREATE TABLE bench_pipeline (id bigserial PRIMARY KEY, payload bytea)")
    make_topic(bootstrap, topic, 3)
    accepted: dict[int, float] = {}
    seen: dict[int, float] = {}
    untimed: set[int] = set()  # the rows of the first STEADY_AFTER seconds
    writing = threading.Event()
    writing.set()
    warm, n = int(rate * STEADY_AFTER), int(rate * seconds)

    consumer = consumer_from_start(bootstrap, topic)
    consumer.poll(timeout_ms=100)  # connected and fetching before the first row is written

    def relay() -> None:
        producer = KafkaProducer(bootstrap_servers=bootstrap, **PRODUCER_SETTINGS)
        last = 0
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f"LISTEN {channel}")
            while writing.is_set() or last < max(accepted, default=0):
                rows = conn.execute(
                    "SELECT id, payload FROM bench_pipeline WHERE id > %s ORDER BY id", (last,)
                ).fetchall()
                if not rows:
                    for _ in conn.notifies(timeout=0.5, stop_after=1):
                        pass
                    continue
                for row_id, payload in rows:
                    producer.send(
                        topic, key=str(row_id).encode(), value=bytes(payload), headers=headers
                    )
                producer.flush()
                last = rows[-1][0]
        producer.close()

    def consume() -> None:
        deadline = None
        while len(seen) < warm + n:
            if not writing.is_set():
                deadline = deadline or time.monotonic() + 30
                if time.monotonic() > deadline:
                    break
            for batch in consumer.poll(timeout_ms=100).values():
                now = time.perf_counter()
                for record in batch:
                    seen[int(record.key)] = now

    threads = [threading.Thread(target=relay), threading.Thread(target=consume)]
    for t in threads:
        t.start()
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            insert = (
                "WITH r AS (INSERT INTO bench_pipeline (payload) VALUES (%s) RETURNING id) "
                f"SELECT id, pg_notify('{channel}', id::text) FROM r"
            )
            start = time.perf_counter()
            for i in range(warm + n):
                delay = start + i / rate - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
                row = conn.execute(insert, (value,), prepare=True).fetchone()
                assert row is not None
                accepted[int(row[0])] = time.perf_counter()
                if i < warm:
                    untimed.add(int(row[0]))
    finally:
        writing.clear()
        for t in threads:
            t.join(timeout=60)
        consumer.close()
    return [(seen[i] - accepted[i]) * 1000 for i in accepted if i in seen and i not in untimed]
