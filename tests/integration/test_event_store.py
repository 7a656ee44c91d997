"""The write side on the real PostgreSQL event store."""

import time
from collections.abc import Callable

import pytest

from composition.bootstrap import System
from domain.errors import AlreadyExists, NotFound
from infra.commit_notifier import CommitNotifier
from tests.actors import ACT_2025, TESTER


def test_registering_stores_one_event_with_its_transaction_id_and_actor(system: System) -> None:
    lib, created = system.catalogue.register_library(
        {"account": "admin", "role": "network_admin"},
        "HNM-TVT",
        "Thư viện tỉnh Hà Nam",
        "provincial",
        "Phủ Lý",
    )
    assert created
    with system.db.transaction() as conn:
        rows = conn.execute(
            "SELECT originator_id, xid::text::bigint, metadata FROM libshare_events"
        ).fetchall()
    assert len(rows) == 1
    originator_id, xid, metadata = rows[0]
    assert originator_id == lib.id and xid > 0
    assert metadata["actor"] == {"account": "admin", "role": "network_admin"}


def test_registering_again_with_the_same_data_returns_the_library_and_stores_nothing(
    system: System,
) -> None:
    system.catalogue.register_library(
        TESTER, "HNM-PL", "Thư viện thành phố Phủ Lý", "district", "Phủ Lý"
    )
    lib, created = system.catalogue.register_library(
        TESTER, "hnm-pl", "Thư viện thành phố Phủ Lý", "district", "Phủ Lý"
    )
    assert not created and lib.code == "HNM-PL"
    assert system.app.recorder.max_notification_id() == 1


def test_registering_a_taken_code_with_other_data_is_a_conflict(system: System) -> None:
    system.catalogue.register_library(
        TESTER, "HNM-PL", "Thư viện thành phố Phủ Lý", "district", "Phủ Lý"
    )
    with pytest.raises(AlreadyExists, match="HNM-PL"):
        system.catalogue.register_library(TESTER, "HNM-PL", "Một thư viện khác", "school", "Phủ Lý")


def test_renaming_an_unknown_library_is_not_found(system: System) -> None:
    with pytest.raises(NotFound):
        system.reorganisation.rename(TESTER, "HNM-NONE", "x", "y", ACT_2025)


def test_with_db_functions_the_actor_is_still_recorded_and_conflicts_still_detected(
    make_system: Callable[..., System],
) -> None:
    system = make_system(event_store_db_functions=True)
    system.catalogue.register_library(
        {"account": "admin"},
        "HNM-QS",
        "Thư viện Bộ Chỉ huy Quân sự tỉnh Hà Nam",
        "armed_forces",
        "Phủ Lý",
    )
    with pytest.raises(AlreadyExists):
        system.catalogue.register_library(TESTER, "HNM-QS", "Khác", "school", "Phủ Lý")
    with system.db.transaction() as conn:
        rows = conn.execute("SELECT metadata FROM libshare_events").fetchall()
    assert [r[0]["actor"] for r in rows] == [{"account": "admin"}]


def test_a_listening_follower_is_woken_after_a_save_once_the_event_is_readable(
    system: System,
) -> None:
    """Writers NOTIFY from outside their transaction (ADR 0009): the wake-up still comes,
    and by then the event it announces has committed."""
    with system.db.connect(autocommit=True) as listener:
        listener.execute('LISTEN "libshare_events"')
        system.catalogue.register_library(
            TESTER, "HNM-BL", "Thư viện huyện Bình Lục", "district", "Bình Lục"
        )
        woken = list(listener.notifies(timeout=5, stop_after=1))
        assert len(woken) == 1
        (count,) = listener.execute("SELECT count(*) FROM libshare_events").fetchone() or (0,)
    assert count == 1


def test_a_burst_of_saves_shares_notifications_and_the_last_save_still_wakes_followers(
    system: System,
) -> None:
    """At most one NOTIFY per gap (ADR 0009): a burst shorter than the gap gets one at
    its start and one more after the gap, and that one follows the burst's last save, so
    no follower sleeps past it. (A notifier of the test's own, with a gap long enough to
    see, on a channel of its own, told of each commit as the recorder tells its own.)"""
    gap = 2.0
    notifier = CommitNotifier(
        lambda: system.db.connect(autocommit=True), "libshare_test_burst", min_gap=gap
    )
    try:
        with system.db.connect(autocommit=True) as listener:
            listener.execute('LISTEN "libshare_test_burst"')
            burst_started = time.monotonic()
            saves = 0  # up to 20, for half the gap (so the burst fits in one, loaded or not)
            while saves < 20 and time.monotonic() - burst_started < gap / 2:
                last_started = time.monotonic()
                system.catalogue.register_library(
                    TESTER, f"HNM-B{saves}", "Thư viện", "school", "Phủ Lý"
                )
                notifier.committed()
                saves += 1
            assert saves >= 3 and time.monotonic() - burst_started < gap
            received: list[float] = []
            for _ in listener.notifies(timeout=gap + 2.0):
                received.append(time.monotonic())
        assert notifier.sent == len(received) == 2
        assert received[-1] > last_started
    finally:
        notifier.close()
