"""Witnesses (issue 15, item 2), as separate processes on the real broker: two witnesses
cosign the log's checkpoints from its Kafka topic; the cosigned checkpoint verifies
offline with both cosignatures required. Then the operator rewrites one event and
re-signs the whole history with the log's own key: the witnesses refuse the rewritten
checkpoint and keep the evidence, and the checkpoint a witness holds makes
`libshare audit verify` name the rewrite."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from kafka import KafkaProducer
from typer.testing import CliRunner

from api.cli import cli
from composition.bootstrap import System
from composition.demo_network import load_demo
from infra.audit_proofs import inclusion
from infra.audit_store import leaf_hashes
from infra.audit_topics import Published, checkpoints_topic
from infra.merkle import consistency_proof
from infra.signed_note import parse
from tests.actors import TESTER
from tests.integration.support import eventually
from workers.audit_log import AuditLog

pytestmark = pytest.mark.kafka

KEY = base64.b64encode(bytes(range(1, 33))).decode()
VERIFIER = Path(__file__).resolve().parents[2] / "tools" / "verify_libshare.py"


def witness(name: str, folder: Path, vkey: str, prefix: str, bootstrap: str) -> tuple[int, str]:
    env = {
        **os.environ,
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "LIBSHARE_KAFKA_TOPIC_PREFIX": prefix,
        "LIBSHARE_LOG_LEVEL": "WARNING",
    }
    done = subprocess.run(
        [sys.executable, "-m", "api", "audit", "witness", "--name", name, "--state",
         str(folder), "--log-key", vkey, "--once"],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    return done.returncode, done.stdout + done.stderr


def test_witnesses_cosign_and_catch_a_rewritten_history(
    make_system: Callable[..., System], kafka_bootstrap: str, database_url: str, tmp_path: Path
) -> None:
    prefix = f"test-{uuid.uuid4().hex[:10]}"
    system = make_system(
        kafka_bootstrap_servers=kafka_bootstrap,
        kafka_topic_prefix=prefix,
        audit_signing_key=KEY,
        audit_checkpoint_events=20,
    )
    load_demo(system)
    audit = system.make_audit_log()
    audit.run_once()
    held = audit.checkpoint()  # the tail: every event so far
    assert held is not None
    audit.publish_pending()
    vkey = system.signer().vkey
    folders = {"witness.hnm-dt": tmp_path / "dt", "witness.hnm-kb": tmp_path / "kb"}
    for name, folder in folders.items():
        code, out = witness(name, folder, vkey, prefix, kafka_bootstrap)
        assert code == 0, out
        assert parse((folder / "checkpoint.note").read_text())[0] == held

    def cosigned() -> int:
        audit.publish_pending()  # also stores the cosignatures the witnesses published
        with system.db.transaction() as conn:
            row = conn.execute(
                "SELECT count(*) FROM audit_cosignatures WHERE size = %s", (held.size,)
            ).fetchone()
        return int(row[0]) if row else 0

    eventually(lambda: cosigned() == 2, what="both cosignatures stored")
    with system.db.transaction() as conn:
        proof = inclusion(conn, *first_event(system), held.size)
        vkeys = [r[0] for r in conn.execute("SELECT DISTINCT vkey FROM audit_cosignatures")]
    path = tmp_path / "proof.json"
    path.write_text(json.dumps(proof))
    args = [sys.executable, "-I", str(VERIFIER), "inclusion", str(path), "--key", vkey]
    for w in vkeys:
        args += ["--witness", w]
    ok = subprocess.run(args, capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0, ok.stderr

    # The operator rewrites an event and re-signs the history with the log's own key.
    with system.db.transaction() as conn:
        conn.execute(
            "UPDATE libshare_events SET state = state || ' '::bytea WHERE notification_id = "
            "(SELECT notification_id FROM libshare_events ORDER BY xid, notification_id "
            "OFFSET 30 LIMIT 1)"
        )
        conn.execute("DELETE FROM audit_leaves")
        conn.execute("DELETE FROM audit_checkpoints")
        conn.execute("DELETE FROM audit_cosignatures")
        conn.execute(
            "UPDATE audit_log_state SET xid = 0, notification_id = 0, size = 0, frontier = ''"
        )
    for n in range(5):
        system.catalogue.register_library(TESTER, f"NEW-{n}", f"Thư viện {n}", "school", "Phủ Lý")
    rogue = AuditLog(system.db, system.signer(), checkpoint_every=10_000)

    def rogue_has_all() -> bool:  # events are appended once no older transaction is open
        while rogue.append_once():
            pass
        with system.db.transaction() as conn:
            row = conn.execute("SELECT count(*) FROM audit_leaves").fetchone()
        return row is not None and row[0] == held.size + 5

    eventually(rogue_has_all, what="the rewritten history's leaves")
    rewritten = rogue.checkpoint()
    assert rewritten is not None and rewritten.size == held.size + 5
    with system.db.transaction() as conn:
        note = conn.execute(
            "SELECT note FROM audit_checkpoints WHERE size = %s", (rewritten.size,)
        ).fetchone()
        assert note is not None
        proof_from_held = consistency_proof(leaf_hashes(conn, rewritten.size), held.size)
    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap)
    producer.send(
        checkpoints_topic(prefix), Published(note[0], held.size, proof_from_held).encode()
    ).get(timeout=15)
    producer.close()

    for name, folder in folders.items():
        code, out = witness(name, folder, vkey, prefix, kafka_bootstrap)
        assert code == 2 and "FORK" in out, out
        assert parse((folder / "checkpoint.note").read_text())[0] == held  # still the old one
        (evidence,) = folder.glob("fork-*.txt")
        assert "the consistency proof does not verify" in evidence.read_text()

    # Anyone holding the witnessed checkpoint finds the rewrite in the store.
    env = {
        "DATABASE_URL": database_url,
        "LIBSHARE_LOG_LEVEL": "WARNING",
        "LIBSHARE_AUDIT_SIGNING_KEY": KEY,
    }
    result = CliRunner().invoke(cli, ["audit", "verify"], env=env)
    assert result.exit_code == 0, result.output  # the rewritten store agrees with itself
    trusted = str(folders["witness.hnm-dt"] / "checkpoint.note")
    result = CliRunner().invoke(cli, ["audit", "verify", "--checkpoint", trusted], env=env)
    assert result.exit_code == 1
    assert f"checkpoint at size {held.size}: the events up to leaf {held.size - 1}" in result.output


def first_event(system: System) -> tuple[uuid.UUID, int]:
    with system.db.transaction() as conn:
        row = conn.execute(
            "SELECT originator_id, originator_version FROM libshare_events "
            "ORDER BY xid, notification_id LIMIT 1"
        ).fetchone()
    assert row is not None
    return row[0], int(row[1])
