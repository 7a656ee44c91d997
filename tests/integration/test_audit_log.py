"""The verifiable log on the real store (issue 15, items 2-4): the demo network's events
become leaves and signed checkpoints; `libshare audit verify` passes on the untouched
store and names the place when one event is altered, deleted, moved or inserted with
SQL; proofs from the log verify offline with tools/verify_libshare.py, and a proof for a
forged event or against a mismatched checkpoint does not."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from typer.testing import CliRunner

from api.cli import cli
from composition.bootstrap import System
from composition.demo_network import load_demo
from infra.audit_proofs import consistency, inclusion
from infra.signed_note import Signer

VERIFIER = Path(__file__).resolve().parents[2] / "tools" / "verify_libshare.py"
KEY = base64.b64encode(bytes(range(32))).decode()


@pytest.fixture
def logged(make_system: Callable[..., System], database_url: str) -> tuple[System, dict[str, str]]:
    """The demo network, every event in the log, a checkpoint every 20 events."""
    system = make_system(audit_signing_key=KEY, audit_checkpoint_events=20)
    load_demo(system)
    audit = system.make_audit_log()
    audit.run_once()
    audit.checkpoint()  # the tail too
    env = {
        "DATABASE_URL": database_url,
        "LIBSHARE_LOG_LEVEL": "WARNING",
        "LIBSHARE_AUDIT_SIGNING_KEY": KEY,
    }
    return system, env


def verify(env: dict[str, str], *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["audit", "verify", *args], env=env)
    return result.exit_code, result.output


def sql(system: System, statement: str, *params: Any) -> None:
    with system.db.transaction() as conn:
        conn.execute(statement, params)


def nth_event(system: System, n: int) -> tuple[int, str, int]:
    """(notification id, aggregate id, version) of the log's n-th event."""
    with system.db.transaction() as conn:
        row = conn.execute(
            "SELECT notification_id, originator_id::text, originator_version FROM "
            "libshare_events ORDER BY xid, notification_id OFFSET %s LIMIT 1",
            (n,),
        ).fetchone()
    assert row is not None
    return int(row[0]), str(row[1]), int(row[2])


def test_the_untouched_store_verifies(logged: tuple[System, dict[str, str]]) -> None:
    system, env = logged
    code, out = verify(env)
    assert code == 0, out
    with system.db.transaction() as conn:
        (events,) = conn.execute("SELECT count(*) FROM libshare_events").fetchone() or (0,)
        (cps,) = conn.execute("SELECT count(*) FROM audit_checkpoints").fetchone() or (0,)
    assert events > 100 and cps >= 5
    assert f"{events:,} events, {cps} checkpoints checked" in out
    assert "the history matches every signed checkpoint" in out


def test_an_altered_event_is_named(logged: tuple[System, dict[str, str]]) -> None:
    system, env = logged
    nid, aggregate, version = nth_event(system, 61)
    sql(
        system,
        "UPDATE libshare_events SET state = state || ' '::bytea WHERE notification_id = %s",
        nid,
    )
    code, out = verify(env)
    assert code == 1
    assert "leaf 61: event" in out and f"of aggregate {aggregate} version {version}" in out
    assert "was altered after it was logged" in out


def test_an_altered_event_with_its_leaf_rewritten_is_caught_by_the_signed_checkpoint(
    logged: tuple[System, dict[str, str]],
) -> None:
    system, env = logged
    nid, _, _ = nth_event(system, 50)
    sql(
        system,
        "UPDATE libshare_events SET state = state || ' '::bytea WHERE notification_id = %s",
        nid,
    )
    # Whoever rewrites the event rewrites its recorded leaf too.
    from infra.audit_store import event_at

    with system.db.transaction() as conn:
        row = event_at(conn, nid)
        assert row is not None
        conn.execute("UPDATE audit_leaves SET hash = %s WHERE leaf_index = 50", (row.leaf,))
    code, out = verify(env)
    assert code == 1
    assert "checkpoint at size 60: the events up to leaf 59 do not give its signed root" in out


def test_a_deleted_event_is_named(logged: tuple[System, dict[str, str]]) -> None:
    system, env = logged
    nid, aggregate, version = nth_event(system, 23)
    sql(system, "DELETE FROM libshare_events WHERE notification_id = %s", nid)
    code, out = verify(env)
    assert code == 1
    assert f"leaf 23: the log recorded aggregate {aggregate} version {version}" in out
    assert "an event was deleted, inserted or moved" in out


def test_the_last_event_deleted_is_named(logged: tuple[System, dict[str, str]]) -> None:
    system, env = logged
    with system.db.transaction() as conn:
        (last,) = conn.execute("SELECT max(leaf_index) FROM audit_leaves").fetchone() or (0,)
    nid, _, _ = nth_event(system, last)
    sql(system, "DELETE FROM libshare_events WHERE notification_id = %s", nid)
    code, out = verify(env)
    assert code == 1
    assert f"leaf {last}: the log recorded" in out and "an event was deleted" in out


def test_a_moved_event_is_named(logged: tuple[System, dict[str, str]]) -> None:
    system, env = logged
    early, aggregate, version = nth_event(system, 10)
    later, _, _ = nth_event(system, 90)
    # Recorded as if written in a later transaction: it now sorts after leaf 90.
    sql(
        system,
        "UPDATE libshare_events SET xid = (SELECT xid FROM libshare_events "
        "WHERE notification_id = %s) WHERE notification_id = %s",
        later,
        early,
    )
    code, out = verify(env)
    assert code == 1
    assert f"leaf 10: the log recorded aggregate {aggregate} version {version}" in out


def test_an_inserted_event_is_named(logged: tuple[System, dict[str, str]]) -> None:
    system, env = logged
    nid, _, _ = nth_event(system, 17)
    # A copy of an event, slipped into an old transaction of the log.
    with system.db.transaction() as conn:
        row = conn.execute(
            "INSERT INTO libshare_events (originator_id, originator_version, topic, state, "
            "xid, metadata) SELECT originator_id, originator_version + 1000, topic, state, "
            "xid, metadata FROM libshare_events WHERE notification_id = %s "
            "RETURNING notification_id",
            (nid,),
        ).fetchone()
        assert row is not None
        (place,) = conn.execute(
            "SELECT count(*) FROM libshare_events WHERE (xid, notification_id) < "
            "(SELECT xid, notification_id FROM libshare_events WHERE notification_id = %s)",
            (row[0],),
        ).fetchone() or (0,)
    code, out = verify(env)
    assert code == 1
    assert f"leaf {place}: the log recorded" in out
    assert f"(notification {row[0]}): an event was deleted, inserted or moved" in out


def run_verifier(tmp_path: Path, what: str, doc: dict[str, Any], *args: str) -> tuple[int, str]:
    path = tmp_path / f"{what}.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-I", str(VERIFIER), what, str(path), *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,  # nothing of the project on its path
    )
    return done.returncode, done.stdout + done.stderr


def test_proofs_verify_offline_and_forgeries_do_not(
    logged: tuple[System, dict[str, str]], tmp_path: Path
) -> None:
    system, _ = logged
    vkey = system.signer().vkey
    _, aggregate, version = nth_event(system, 30)
    with system.db.transaction() as conn:
        proof = inclusion(conn, UUID(aggregate), version, 80)
        latest = inclusion(conn, UUID(aggregate), version, None)
        extends = consistency(conn, 40, 80)
    code, out = run_verifier(tmp_path, "inclusion", proof, "--key", vkey)
    assert code == 0, out
    assert "is leaf 30 of checkpoint 80" in out
    assert run_verifier(tmp_path, "inclusion", latest, "--key", vkey)[0] == 0

    forged = json.loads(json.dumps(proof))
    state = base64.b64decode(forged["event"]["state"]).replace(b'"', b"'", 1)
    forged["event"]["state"] = base64.b64encode(state).decode()
    forged.pop("leaf_data")
    code, out = run_verifier(tmp_path, "inclusion", forged, "--key", vkey)
    assert code == 1 and "is not leaf 30" in out

    mismatched = {**proof, "checkpoint": extends["first_checkpoint"]}  # size 40's
    code, out = run_verifier(tmp_path, "inclusion", mismatched, "--key", vkey)
    assert code == 1, out

    other_key = Signer.from_seed(system.settings.audit_origin, bytes(32)).vkey
    code, out = run_verifier(tmp_path, "inclusion", proof, "--key", other_key)
    assert code == 1 and "is not signed by the log's key" in out

    code, out = run_verifier(tmp_path, "consistency", extends, "--key", vkey)
    assert code == 0 and "checkpoint 80 extends checkpoint 40" in out, out
    swapped = {**extends, "proof": list(reversed(extends["proof"]))}
    code, out = run_verifier(tmp_path, "consistency", swapped, "--key", vkey)
    assert code == 1 and "the history forked" in out


def test_the_worker_signs_after_t_seconds_and_follows_new_events(
    make_system: Callable[..., System],
) -> None:
    """As `serve` runs it (a supervised thread): N events never reached, the checkpoint
    comes after T seconds, and events written later get the next one."""
    from infra.signed_note import open_note
    from tests.actors import TESTER
    from tests.integration.support import eventually

    system = make_system(
        audit_signing_key=KEY, audit_checkpoint_events=100_000, audit_checkpoint_seconds=0.5
    )
    load_demo(system)
    system.start_audit_log()
    vkey = system.signer().vkey

    def latest() -> tuple[int, int]:
        with system.db.transaction() as conn:
            (events,) = conn.execute("SELECT count(*) FROM libshare_events").fetchone() or (0,)
            row = conn.execute(
                "SELECT size, note FROM audit_checkpoints ORDER BY size DESC LIMIT 1"
            ).fetchone()
        size = open_note(row[1], vkey).size if row else 0
        return size, int(events)

    eventually(lambda: latest()[0] == latest()[1] > 0, what="a checkpoint of every event")
    first = latest()[0]
    system.catalogue.register_library(TESTER, "NEW-T", "Thư viện mới", "school", "Phủ Lý")
    eventually(lambda: latest()[0] == first + 1, what="the next checkpoint")
