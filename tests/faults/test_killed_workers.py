"""Workers killed with SIGKILL while three clients create ILL requests, and started again
as a restart policy would: the relay three times at random moments, a projector while it
applies. Nothing is lost, nothing applied twice, first appearances stay in order."""

from __future__ import annotations

import random
import time

from composition.bootstrap import System
from tests.faults.checks import (
    assert_nothing_lost,
    caught_up,
)
from tests.faults.conftest import record_recovery
from tests.faults.layout import Layout, Load, phase, wait_until


def test_the_relay_killed_three_times_loses_nothing(
    layout: Layout, load: Load, checker: System
) -> None:
    wait_until(lambda: load.created() >= 60, 60, "the clients creating requests")
    relay = layout.processes["relay"]
    for n in range(3):
        time.sleep(random.uniform(1.0, 4.0))
        phase(f"SIGKILL the relay ({n + 1})")
        relay.kill()
        time.sleep(random.uniform(0.2, 1.0))
        relay.start()
    time.sleep(3)
    load.finish()
    finished = time.monotonic()
    wait_until(lambda: caught_up(checker), 60, "lag 0 after the relay's restarts")
    record_recovery("relay killed 3 times", time.monotonic() - finished)
    assert_nothing_lost(checker, layout, load)


def test_a_projector_killed_while_applying_loses_nothing(
    layout: Layout, load: Load, checker: System
) -> None:
    wait_until(lambda: load.created() >= 60, 60, "the clients creating requests")
    projector = layout.processes["projector-1"]
    applied_before = _progress(checker, projector.pid())
    wait_until(
        lambda: _progress(checker, projector.pid()) > applied_before, 30, "projector-1 applying"
    )
    phase("SIGKILL projector-1")
    projector.kill()
    time.sleep(1)
    projector.start()
    time.sleep(5)
    load.finish()
    finished = time.monotonic()
    wait_until(lambda: caught_up(checker), 60, "lag 0 after the projector's restart")
    record_recovery("projector killed while applying", time.monotonic() - finished)
    assert_nothing_lost(checker, layout, load)
    # The restarted projector runs and beats again (its own process, a new member).
    wait_until(lambda: _beats(checker, projector.pid()), 30, "the restarted projector's heartbeat")


def _progress(system: System, pid: int) -> int:
    with system.db.transaction() as conn:
        row = conn.execute(
            "SELECT progress FROM worker_heartbeats WHERE pid = %s", (pid,)
        ).fetchone()
    return int(row[0]) if row else 0


def _beats(system: System, pid: int) -> bool:
    with system.db.transaction() as conn:
        row = conn.execute(
            "SELECT beat_at > now() - interval '5 s' FROM worker_heartbeats WHERE pid = %s", (pid,)
        ).fetchone()
    return bool(row and row[0])
