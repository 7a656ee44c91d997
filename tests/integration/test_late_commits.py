"""Events that commit after later-numbered ones are delivered, never skipped."""

from __future__ import annotations

from collections.abc import Callable

from tests.integration.late_commit import late_writer
from tests.integration.support import libraries
from workers.bootstrap import System


def test_the_log_projection_delivers_an_event_that_commits_after_a_later_one(
    make_system: Callable[..., System],
) -> None:
    system = make_system(event_store_db_functions=True)
    runner = system.make_runner()
    source = system.make_log_source()
    source.start(runner)
    system.app.register_library("HNM-A", "Thư viện A", "school", "Phủ Lý")
    with late_writer(system, "HNM-LATE") as late_id:
        lib, _ = system.app.register_library("HNM-B", "Thư viện B", "school", "Phủ Lý")
        with system.db.transaction() as conn:
            (b_id,) = conn.execute(
                "SELECT notification_id FROM libshare_events WHERE originator_id = %s", (lib.id,)
            ).fetchone()
        assert b_id > late_id  # B took a later id and has already committed
        runner.apply_batch(source.poll(timeout=0.3))
        # Only what precedes the open transaction is visible: A, not B.
        assert [r["code"] for r in libraries(system)] == ["HNM-A"]
    runner.apply_batch(source.poll(timeout=2))
    source.close()
    assert [r["code"] for r in libraries(system)] == ["HNM-A", "HNM-B", "HNM-LATE"]
