"""The auditors' API over HTTP (issue 15, items 4, 7, 8): an auditor takes the log's key,
an inclusion proof for a request's event and a consistency proof between two
checkpoints, and checks them offline with tools/verify_libshare.py; exports the log and
a request's timeline as JSON Lines and CSV, and a signed bundle the verifier checks and
a tampered copy of which it refuses. Nobody else may read any of it."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from composition.bootstrap import System
from tests.e2e.callers import Librarian, Network, auditor, headers_for

VERIFIER = Path(__file__).resolve().parents[2] / "tools" / "verify_libshare.py"


def offline(tmp_path: Path, what: str, doc: Any, key: str) -> tuple[int, str]:
    path = tmp_path / f"{what}.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-I", str(VERIFIER), what, str(path), "--key", key],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    return done.returncode, done.stdout + done.stderr


def log_everything(system: System) -> int:
    audit = system.make_audit_log()
    audit.run_once()
    cp = audit.checkpoint()
    assert cp is not None
    return cp.size


def test_an_auditor_proves_checks_and_exports_the_history(network: Network, tmp_path: Path) -> None:
    client, system = network
    me = auditor(client)
    school = Librarian(client, "HNM-BL")
    rid = school.request("W-TATDEN")["id"]
    first = log_everything(system)
    assert school.act(rid, "Cancel", reason="đổi ý").status_code == 200
    second = log_everything(system)
    assert second > first

    key = client.get("/audit/key", headers=me).json()["log_key"]
    proof = client.get(
        "/audit/proofs/inclusion", params={"aggregate_id": rid, "version": 1}, headers=me
    ).json()
    assert proof["tree_size"] == second
    code, out = offline(tmp_path, "inclusion", proof, key)
    assert code == 0, out
    old = client.get(
        "/audit/proofs/inclusion",
        params={"aggregate_id": rid, "version": 1, "size": first},
        headers=me,
    ).json()
    assert offline(tmp_path, "inclusion", old, key)[0] == 0

    extends = client.get(
        "/audit/proofs/consistency", params={"first": first, "second": second}, headers=me
    ).json()
    code, out = offline(tmp_path, "consistency", extends, key)
    assert code == 0 and f"checkpoint {second} extends checkpoint {first}" in out, out

    latest = client.get("/audit/checkpoint", headers=me).json()
    assert latest["size"] == second and latest["note"].startswith(system.settings.audit_origin)

    # The signed bundle verifies elsewhere; one byte changed in one event does not.
    bundle = client.get("/audit/export/bundle", headers=me).json()
    assert len(bundle["events"]) == second
    code, out = offline(tmp_path, "bundle", bundle, key)
    assert code == 0 and f"{second} events" in out, out
    bundle["events"][5]["state"] = bundle["events"][6]["state"]
    code, out = offline(tmp_path, "bundle", bundle, key)
    assert code == 1 and "leaf 5:" in out, out
    for e in bundle["events"]:
        e.pop("leaf_hash")  # a forger who drops the hashes meets the signed root
    code, out = offline(tmp_path, "bundle", bundle, key)
    assert code == 1 and "do not give its root" in out, out

    lines = client.get("/audit/export/log.jsonl", headers=me)
    assert lines.headers["content-type"].startswith("application/x-ndjson")
    entries = [json.loads(line) for line in lines.text.splitlines()]
    assert [e["leaf_index"] for e in entries] == list(range(second))
    table = list(csv.DictReader(io.StringIO(client.get("/audit/export/log.csv", headers=me).text)))
    assert len(table) == second and table[-1]["library"] == "HNM-BL"

    timeline = client.get(f"/audit/export/requests/{rid}.csv", headers=me)
    assert timeline.status_code == 200 and timeline.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(timeline.text)))
    cancel = next(r for r in rows if r["event"] == "CancelRequested")
    assert cancel["library"] == "HNM-BL" and cancel["causation_id"].startswith("http:")
    assert cancel["role"] == "librarian" and cancel["event_id"]
    jl = client.get(f"/audit/export/requests/{rid}.jsonl", headers=me).text.splitlines()
    assert len(jl) == len(rows)


def test_the_auditors_api_is_theirs_alone_and_says_what_is_missing(network: Network) -> None:
    client, system = network
    log_everything(system)
    librarian = headers_for(client, "librarian", library="HNM-KB")
    denied = client.get("/audit/key", headers=librarian)
    assert denied.status_code == 403
    assert denied.headers["content-type"] == "application/problem+json"
    me = auditor(client)
    missing = client.get(
        "/audit/proofs/inclusion",
        params={"aggregate_id": "00000000-0000-4000-8000-000000000000", "version": 1},
        headers=me,
    )
    assert missing.status_code == 404 and missing.json()["type"] == "/problems/not-found"
    assert "not in the log yet" in missing.json()["detail"]
    backwards = client.get("/audit/proofs/consistency?first=9&second=3", headers=me)
    assert backwards.status_code == 422
    nothing = client.get("/audit/checkpoint?size=7", headers=me)  # no checkpoint of that size
    assert nothing.status_code == 404 and nothing.json()["type"] == "/problems/not-found"
