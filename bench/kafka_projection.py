"""The projection-from-Kafka figure, measured as docker-compose.yml deploys it: PROJECTORS
`libshare projector --source kafka` processes in one consumer group.

The processes start, and the group settles, before anything is on the topics. While the
relay fills the topics, this process holds every projection's lock (ADR 0013), so each
projector reads at most one batch and waits; they are timed from the moment the locks
are let go until the read models hold every event. A group that settles while the
events are being read shows one member reading alone for up to a heartbeat interval (a
new member waits for the others to hear of the rebalance): part of start-up, not of the
steady state this figure is about. (Pausing the processes with SIGSTOP instead made
kafka-python see its I/O loop blocked for seconds, and about one run in two then
rebalanced as it went on.)"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from kafka import KafkaAdminClient
from kafka.errors import KafkaError

from bench.processes import start_projectors
from composition.bootstrap import System
from infra.settings import Settings
from projections.bookkeeping import lock_projections


@contextmanager
def projectors(settings: Settings, group_id: str) -> Iterator[list[subprocess.Popen[bytes]]]:
    """PROJECTORS projector processes, once their consumer group is settled: stable,
    with every member holding partitions. Stopped on leaving."""
    procs = start_projectors(settings)
    try:
        wait_until_settled(settings.kafka_bootstrap_servers or "", group_id, procs)
        yield procs
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(30)


@contextmanager
def held(system: System) -> Iterator[None]:
    """Every projection's lock (ADR 0013), held by this process: a projector takes no
    batch past it until it is let go. The projectors stay alive meanwhile (reading at
    most one batch each, heartbeating), so their group is not disturbed."""
    with system.db.transaction() as conn:
        lock_projections(conn, [p.name for p in system.projections])
        yield


def wait_until_settled(
    bootstrap: str, group_id: str, procs: list[subprocess.Popen[bytes]], timeout: float = 60
) -> None:
    """Until the group `procs` (projector processes) form is stable, every member holding
    partitions: a member that joins later makes the others stop for a rebalance."""
    members = len(procs)
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(proc.poll() is not None for proc in procs):
                raise RuntimeError("a projector process exited: see bench/results/projector-*.log")
            try:
                group = admin.describe_groups([group_id]).get(group_id) or {}
            except KafkaError:  # e.g. no coordinator yet on a fresh broker
                group = {}
            members_holding = [
                m for m in group.get("members", []) if _partitions(m.get("member_assignment"))
            ]
            if group.get("group_state") == "Stable" and len(members_holding) == members:
                return
            time.sleep(0.1)
    finally:
        admin.close()
    raise RuntimeError(f"consumer group {group_id} did not settle with {members} members")


def _partitions(assignment: object) -> int:
    if not isinstance(assignment, dict):
        return 0
    return sum(len(t["partitions"]) for t in assignment.get("assigned_partitions", []))


def rate_until(projected: Callable[[], int], total: int, timeout: float = 300.0) -> float:
    """Distinct events/s from now until `projected()` reaches `total`; fails rather than
    waiting for ever if fewer arrive."""
    started, first = time.perf_counter(), projected()
    deadline = started + timeout
    while (seen := projected()) < total:
        if time.perf_counter() > deadline:
            raise RuntimeError(f"projection from Kafka saw {seen} of {total}")
        time.sleep(0.005)
    return (seen - first) / (time.perf_counter() - started)
