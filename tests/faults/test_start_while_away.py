"""A projector started while the broker is down waits (logged, bounded back-off) instead
of exiting, and joins the group once the broker is back."""

from __future__ import annotations

import time

from composition.bootstrap import System
from tests.faults.checks import assert_nothing_lost, caught_up
from tests.faults.conftest import record_recovery
from tests.faults.layout import Broker, Layout, Load, phase, wait_until


def test_a_projector_started_while_the_broker_is_down_waits_and_joins(
    layout: Layout, broker: Broker, load: Load, checker: System
) -> None:
    wait_until(lambda: load.created() >= 50, 60, "the clients creating requests")
    broker.stop()
    late = layout.start_projector(3)
    # It starts (on a loaded machine its imports alone take seconds), finds no broker and
    # says it retries; some seconds on it is still there, still retrying.
    wait_until(
        lambda: "projection runner retrying" in late.log_tail(200_000) or not late.alive(),
        60,
        "the late projector saying it retries",
    )
    time.sleep(10)
    assert late.alive(), f"the projector exited while the broker was down:\n{late.log_tail()}"
    assert "projection runner retrying" in late.log_tail(200_000)
    broker.start()
    back = time.monotonic()
    time.sleep(3)
    load.finish()
    wait_until(lambda: caught_up(checker), 30, "lag 0 with three projectors")
    record_recovery("projector started while the broker was down", time.monotonic() - back)
    phase("caught up")
    assert_nothing_lost(checker, layout, load)
    with checker.db.transaction() as conn:
        row = conn.execute(
            "SELECT kafka_ok FROM worker_heartbeats WHERE pid = %s", (late.pid(),)
        ).fetchone()
    assert row == (True,), f"the late projector's heartbeat: {row}"
