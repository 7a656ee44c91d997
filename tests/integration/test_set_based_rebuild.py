"""A set-based rebuild (ADR 0030: the server inserts the rows of the events a projection
declares in `bulk_inserts`, the rest replayed in order) gives every table exactly what
the per-event rebuild and the live projector give, over the demo network and a history
with every event type they make by SQL and later events of the others (every type the
libraries handle; 4 of the catalogue's 20 later copy events)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date
from typing import Any

import psycopg
import pytest

from composition.bootstrap import PROJECTIONS, System
from composition.demo_network import load_demo
from composition.rebuilds import rebuild_in_parallel
from domain.legal_act import LegalAct
from domain.lending_policy import LendingPolicy
from infra.log_reader import stored_topics
from projections.projection import Projection
from projections.rebuild import Rebuild, RebuildReport
from projections.runner import ProjectionRunner
from tests.actors import ACT_2025, TESTER
from tests.integration.support import read_model_rows, register_many
from tests.integration.test_projection_runner import drain
from tests.integration.test_rebuild_and_replay import scenario

SET_BASED = [name for name, cls in PROJECTIONS.items() if cls().bulk_inserts()]


def per_event(name: str) -> Callable[[str], Projection]:
    """The projection `name` with no bulk statements: every event replayed in order."""

    class PerEvent(PROJECTIONS[name]):  # type: ignore[misc, valid-type]
        def bulk_inserts(self) -> Mapping[str, Sequence[str]]:
            return {}

    return PerEvent


def history(system: System, runner: ProjectionRunner) -> None:
    """The demo network (works, holdings, copies), loans and returns by post, a digital
    loan (a copy set aside), a withdrawn copy, then registrations, renames, re-codes (one
    after its policy was set, one before, one of a library holding copies), a
    re-parenting and a merge, and registrations after them."""
    load_demo(system)
    drain(system, runner)
    scenario(system, runner)  # tests/integration/test_rebuild_and_replay.py
    with system.db.transaction() as conn:
        holder, barcode = conn.execute(
            "SELECT holder, barcode FROM catalogue_copies WHERE status = 'on_shelf' "
            "AND picked_for IS NULL ORDER BY barcode LIMIT 1"
        ).fetchone() or ("", "")
    system.copies.withdraw(TESTER, holder, barcode, "hư hỏng")
    scoped = {"title": "Địa chí nội bộ", "kind": "restricted", "creator": "Sở VHTT"}
    system.catalogue.register_work(TESTER, code="W-SB-NOIBO", **scoped, visible_to=["school"])
    codes = register_many(system, 30, prefix="SB")
    org = system.reorganisation
    for code in codes[:5]:
        org.rename(TESTER, code, f"Thư viện mới {code}", "sáp nhập xã", ACT_2025)
    system.catalogue.set_policy(TESTER, codes[5], LendingPolicy(loan_days=21))
    org.recode(TESTER, codes[5], "SB-NEW-5", ACT_2025)
    org.recode(TESTER, codes[6], "SB-NEW-6", ACT_2025)
    system.catalogue.set_policy(TESTER, "SB-NEW-6", LendingPolicy(loan_days=14))
    org.recode(TESTER, holder, f"{holder}-MOI", ACT_2025)  # its copies' LibraryReplaced
    org.reparent(TESTER, codes[7], codes[8], "Ninh Bình", ACT_2025)
    later = LegalAct("Quyết định 12/QĐ-UBND", date(2025, 8, 1), date(2025, 9, 1))
    org.merge(TESTER, codes[9], codes[10], "hợp nhất", later, date(2025, 8, 2))
    register_many(system, 5, prefix="SC")  # registrations after the reorganisations


def test_the_set_based_path_is_taken_by_some_projection() -> None:
    assert {"libraries", "catalogue"} <= set(SET_BASED)


def test_the_history_has_every_event_the_libraries_projection_handles(system: System) -> None:
    history(system, system.make_runner())
    with system.db.transaction() as conn:
        stored = {r[0] for r in conn.execute("SELECT DISTINCT topic FROM libshare_events")}
    assert set(stored_topics(PROJECTIONS["libraries"].handles) or ["none"]) <= stored


@pytest.mark.parametrize("name", SET_BASED)
def test_a_set_based_rebuild_equals_the_per_event_one_and_the_live_tables(
    system: System, name: str
) -> None:
    runner = system.make_runner()  # the read models a merge reads exist
    history(system, runner)
    projection = PROJECTIONS[name]()
    with system.db.transaction() as conn:
        stored = {r[0] for r in conn.execute("SELECT DISTINCT topic FROM libshare_events")}
    # Every type made by SQL is in the history, and events of the other types after them.
    assert set(stored_topics(projection.bulk_inserts()) or ["none"]) <= stored
    others = projection.handles - projection.bulk_inserts().keys()
    assert len(set(stored_topics(others) or []) & stored) >= min(len(others), 4)
    drain(system, runner)
    live = read_model_rows(system, name)

    one_by_one = Rebuild(system.db, system.reader, per_event(name)).run()
    by_event = read_model_rows(system, name)
    set_based = system.rebuild(name)
    by_set = read_model_rows(system, name)
    system.rebuild(name, batch_size=7)  # the bulk inserts in chunks of 7 events of the log
    in_chunks = read_model_rows(system, name)

    assert by_set == in_chunks == by_event == live
    assert all(rows for rows in live.values())  # nothing compared empty
    assert (set_based.events, set_based.applied) == (one_by_one.events, one_by_one.applied)
    # The live projector goes on after the swap, without applying anything twice.
    before = read_model_rows(system, "libraries", "catalogue")
    register_many(system, 2, prefix="SD")
    system.catalogue.register_work(TESTER, code="W-SD", title="Sách mới", kind="book")
    drain(system, runner)
    after = read_model_rows(system, "libraries", "catalogue")
    assert len(after["libraries"]) == len(before["libraries"]) + 2
    assert len(after["catalogue_works"]) == len(before["catalogue_works"]) + 1


def test_the_rebuilt_versions_are_each_aggregates_last_up_to_the_swap(system: System) -> None:
    """ADR 0012: after the swap the projection's versions hold each aggregate's last
    version up to the rebuilt position, those of events the catch-up applied under the
    lock too (the versions are built beside the fresh tables, before the lock)."""
    runner = system.make_runner()
    register_many(system, 5, prefix="VA")
    drain(system, runner)
    racing: list[str] = []

    class CommitsWhileRebuilding(Rebuild):
        def _versions(self, conn: Any, fresh: Projection, *args: Any, first: bool) -> None:
            if first and not racing:  # after the replay, before the swap's lock
                racing.extend(register_many(system, 2, prefix="VB"))
                org = system.reorganisation
                org.rename(TESTER, "VA-0000", "Thư viện đổi tên", "sáp nhập xã", ACT_2025)
            super()._versions(conn, fresh, *args, first=first)

    report = CommitsWhileRebuilding(system.db, system.reader, PROJECTIONS["libraries"]).run()
    with system.db.transaction() as conn:
        versions = dict(
            conn.execute(
                "SELECT aggregate_id, version FROM projection_versions "
                "WHERE projection = 'libraries'"
            ).fetchall()
        )
        in_log = dict(
            conn.execute(
                "SELECT originator_id, max(originator_version) FROM libshare_events GROUP BY 1"
            ).fetchall()
        )
        (stored,) = conn.execute("SELECT count(*) FROM libshare_events").fetchone() or (0,)
    assert racing and versions == in_log
    assert report.events == stored
    rebuilt = read_model_rows(system, "libraries")["libraries"]
    # The live projector goes on after the swap: a library registered now is applied once,
    # the rename made during the rebuild is not applied again.
    register_many(system, 1, prefix="VC")
    drain(system, runner)
    assert len(read_model_rows(system, "libraries")["libraries"]) == len(rebuilt) + 1


def test_projections_rebuilt_in_parallel_equal_the_live_tables(system: System) -> None:
    """`libshare projections rebuild` with several projections: rebuilt at once, each
    swapped in with what the live projector had made."""
    runner = system.make_runner()
    register_many(system, 5, prefix="PA")
    system.catalogue.register_work(TESTER, code="W-PA", title="Sách song song", kind="book")
    drain(system, runner)
    names = ["libraries", "catalogue"]
    live = read_model_rows(system, *names)
    with system.db.transaction() as conn:
        (stored,) = conn.execute("SELECT count(*) FROM libshare_events").fetchone() or (0,)
    outcomes = dict(rebuild_in_parallel(system, names, jobs=2))
    assert sorted(outcomes) == sorted(names)
    assert all(isinstance(o, RebuildReport) and o.events == stored for o in outcomes.values())
    assert read_model_rows(system, *names) == live


def test_a_load_that_fails_midway_leaves_the_live_read_model_serving(system: System) -> None:
    """A bulk INSERT that fails in one range of the log, while the other loader goes on:
    the rebuild raises the server's error, nothing live is touched, and once the cause is
    gone the same rebuild succeeds (ADR 0030: loads on two connections)."""
    runner = system.make_runner()
    codes = register_many(system, 40, prefix="FA")
    drain(system, runner)
    live = read_model_rows(system, "libraries")
    poison = {"code": codes[31]}  # in a later range than the first, with batch_size 7

    class FailsOnOne(PROJECTIONS["libraries"]):  # type: ignore[misc, valid-type]
        def bulk_inserts(self) -> Mapping[str, Sequence[str]]:
            (topic, statements), *_ = super().bulk_inserts().items()
            if not poison:
                return {topic: statements}
            failing = (  # an INSERT, so the server runs it (a CTE that only reads is not)
                f"INSERT INTO {self.table('library_codes')} (code, library_id) "
                "SELECT data->>'code', aggregate_id FROM src "
                f"WHERE 1 / (data->>'code' <> '{poison['code']}')::int = 1"
            )
            return {topic: (statements[0], failing, *statements[2:])}

    with pytest.raises(psycopg.errors.DivisionByZero):
        Rebuild(system.db, system.reader, FailsOnOne, batch_size=7).run()
    assert read_model_rows(system, "libraries") == live
    register_many(system, 1, prefix="FB")  # the live projector goes on meanwhile
    drain(system, runner)
    assert len(read_model_rows(system, "libraries")["libraries"]) == len(live["libraries"]) + 1
    poison.clear()
    Rebuild(system.db, system.reader, FailsOnOne, batch_size=7).run()
    assert len(read_model_rows(system, "libraries")["libraries"]) == len(live["libraries"]) + 1
