"""The verifiable log's figures (ADR 0026), each beside its raw baseline in the same run:
`libshare audit verify` from PostgreSQL against a raw pass that reads the same rows with
the same server-side cursor and SHA-256s each one (no leaf encoding, no tree, no
comparison); the log worker's appends, for reference. Run alone (no Kafka needed):
`python -m bench.audit_log` fills an embedded store to BENCH_EVENTS events first."""

from __future__ import annotations

import hashlib
import os
import time
import uuid
from pathlib import Path
from typing import Any

from composition.bootstrap import System, bootstrap
from infra.audit_store import all_rows
from infra.audit_verify import verify_postgres

AIM = 100_000  # events/s from PostgreSQL, on the project's 2-core machines


def raw_sha256(system: System) -> float:
    """Rows/s: the stored events read in the log's order, one SHA-256 of each state."""
    sha = hashlib.sha256
    started = time.perf_counter()
    n = 0
    with system.db.transaction() as conn:
        for row in all_rows(conn):
            sha(row[5]).digest()
            n += 1
    return n / (time.perf_counter() - started)


def verify_rate(system: System) -> tuple[float, int]:
    vkey = system.signer().vkey
    with system.db.transaction() as events, system.db.transaction() as leaves:
        report = verify_postgres(events, leaves, vkey)
    assert report.ok, report.failure
    return report.events_per_second, report.checkpoints


def append_rate(system: System) -> float:
    audit = system.make_audit_log()
    started, n = time.perf_counter(), 0
    while m := audit.append_once():
        n += m
        if audit.checkpoint_due():
            audit.checkpoint()
    audit.checkpoint()
    return n / (time.perf_counter() - started) if n else 0.0


def audit_figures(system: System, figure: Any) -> list[dict[str, Any]]:
    """The figures, made with bench/__main__.py's `figure`."""
    appended = append_rate(system)
    raw = raw_sha256(system)
    ours, checkpoints = verify_rate(system)
    return [
        figure("audit log appends (leaves, checkpoints), events/s", appended, None, None, None,
               "events/s"),
        figure(
            f"audit verify from PostgreSQL ({checkpoints} checkpoints)",
            ours,
            raw,
            f">= {AIM:,} events/s",
            ours >= AIM,
            "events/s",
        ),
    ]  # fmt: skip


def _figure(
    name: str, value: float, baseline: float | None, aim: str | None, ok: bool | None, unit: str
) -> dict[str, Any]:
    return {"name": name, "value": value, "baseline": baseline, "aim": aim, "met": ok}


def main() -> None:
    """Alone, without Kafka: the store filled with 100 new libraries per save."""
    from domain.library import Library
    from infra.database import EmbeddedPostgres, ensure_database
    from infra.settings import Settings

    root = Path(__file__).resolve().parent.parent
    server = os.environ.get("DATABASE_URL") or EmbeddedPostgres(root / ".data" / "bench").url
    url = ensure_database(server, f"bench_{uuid.uuid4().hex[:8]}")
    settings = Settings(
        database_url=url, load_demo=False, run_workers=False, data_dir=root / ".data" / "bench"
    )
    system = bootstrap(settings, configure=False)
    try:
        for n in range(0, int(os.environ.get("BENCH_EVENTS", "100000")), 100):
            system.app.save(
                *[Library.register(f"F-{n + i}", "Thư viện", "school", "X") for i in range(100)]
            )
        for f in audit_figures(system, _figure):
            base = f"{f['baseline']:,.0f}" if f["baseline"] else "-"
            verdict = "" if f["met"] is None else ("met" if f["met"] else "MISSED")
            print(f"{f['name']:<60} {f['value']:>10,.0f} {base:>10}  {f['aim'] or ''} {verdict}")
    finally:
        system.close()


if __name__ == "__main__":
    main()
