"""libshare's own commands in their own processes, as the benchmark runs them."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

from infra.settings import Settings

# Projector processes in one consumer group, as docker-compose.yml deploys them.
PROJECTORS = int(os.environ.get("BENCH_PROJECTORS", "2"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def process_env(settings: Settings, port: int | None) -> dict[str, str]:
    env = {
        **os.environ,
        "DATABASE_URL": settings.database_url or "",
        "KAFKA_BOOTSTRAP_SERVERS": settings.kafka_bootstrap_servers or "",
        "LIBSHARE_KAFKA_TOPIC_PREFIX": settings.kafka_topic_prefix,
        "LIBSHARE_LOAD_DEMO": "false",
        "LIBSHARE_LOG_LEVEL": "WARNING",
    }
    if port is not None:
        env["LIBSHARE_PORT"] = str(port)
    return env


def start_process(
    settings: Settings, port: int | None, *command: str, log_name: str | None = None
) -> subprocess.Popen[bytes]:
    """`libshare <command>` in its own process; its stderr goes to bench/results/."""
    name = log_name or command[0]
    with open(f"bench/results/{name}.log", "w") as log:  # the child keeps its own handle
        return subprocess.Popen(
            [sys.executable, "-m", "api", *command],
            env=process_env(settings, port),
            stdout=subprocess.DEVNULL,
            stderr=log,
        )


def start_projectors(settings: Settings) -> list[subprocess.Popen[bytes]]:
    """PROJECTORS `libshare projector --source kafka` processes, as docker-compose.yml
    deploys them: one consumer group, the partitions shared between them."""
    return [
        start_process(settings, None, "projector", "--source", "kafka", log_name=f"projector-{i}")
        for i in range(PROJECTORS)
    ]
