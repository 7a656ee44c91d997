"""How healthy the shared log is, as an operator needs to see it: whether Kafka answers,
how many stored events the relay has not yet published and how old the oldest is, each
projection's lag and whether it is moving, and which workers are beating. One report for
/health, /metrics and `libshare projections list` (ADR 0019)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import psycopg

from infra.database import Database
from infra.heartbeats import FORGET_AFTER, STALE_AFTER


@dataclass
class LogHealth:
    kafka_ok: bool | None = None  # None: no Kafka configured
    relay: dict[str, Any] | None = None  # None: no Kafka configured
    projections: dict[str, dict[str, Any]] = field(default_factory=dict)
    workers: list[dict[str, Any]] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)

    @property
    def status(self) -> str:
        return "degraded" if self.reasons else "ok"


def log_health(
    db: Database,
    *,
    kafka_configured: bool,
    kafka_ok: bool | None,
    backlog_seconds: float = 30.0,
    heartbeat_seconds: float = STALE_AFTER,
) -> LogHealth:
    """`backlog_seconds`: the relay is behind when its oldest unpublished event is older,
    and a projection with lag has stalled when it has not moved for as long;
    `heartbeat_seconds`: a worker that has not beaten for as long is frozen or gone."""
    report = LogHealth(kafka_ok=kafka_ok if kafka_configured else None)
    if kafka_configured and kafka_ok is False:
        report.reasons.append("Kafka is unreachable")
    with db.transaction() as conn:
        total = _scalar(conn, "SELECT count(*) FROM libshare_events")
        if kafka_configured:
            report.relay = _relay(conn, total)
            age = report.relay["oldest_unpublished_age_s"]
            if age is not None and age > backlog_seconds:
                report.reasons.append(
                    f"the relay is behind: {report.relay['unpublished']} events not on Kafka, "
                    f"the oldest {age:.0f} s old"
                )
        report.projections = _projections(conn, total, backlog_seconds)
        report.workers = _workers(conn, heartbeat_seconds)
    for name, p in report.projections.items():
        if p["stalled"]:
            report.reasons.append(
                f"projection {name} has stalled: {p['lag']} events behind, "
                f"not moved for {p['idle_s']:.0f} s"
            )
        if p["parked"]:
            report.reasons.append(f"projection {name} has {p['parked']} parked events")
    for w in report.workers:
        if not w["alive"]:
            report.reasons.append(
                f"{w['kind']} {w['worker']} has not beaten for {w['beat_age_s']:.0f} s"
            )
        elif w["kafka_ok"] is False:
            report.reasons.append(f"{w['kind']} {w['worker']} cannot reach Kafka")
    return report


def _relay(conn: psycopg.Connection[Any], total: int) -> dict[str, Any]:
    if not _exists(conn, "relay_positions"):
        return {"unpublished": total, "oldest_unpublished_age_s": _oldest_age(conn, 0, 0)}
    row = conn.execute(
        "SELECT xid, notification_id, relayed, updated_at FROM relay_positions "
        "ORDER BY relay LIMIT 1"
    ).fetchone()
    xid, nid = (row[0], row[1]) if row else (0, 0)
    unpublished = _scalar(
        conn,
        "SELECT count(*) FROM libshare_events WHERE (xid, notification_id) > (%s::text::xid8, %s)",
        (str(xid), nid),
    )
    return {
        "unpublished": unpublished,
        "oldest_unpublished_age_s": _oldest_age(conn, xid, nid) if unpublished else None,
        "published_at": row[3].isoformat() if row else None,
    }


def _oldest_age(conn: psycopg.Connection[Any], xid: int, nid: int) -> float | None:
    row = conn.execute(
        "SELECT extract(epoch FROM now() - min(recorded_at)) FROM libshare_events "
        "WHERE (xid, notification_id) > (%s::text::xid8, %s)",
        (str(xid), nid),
    ).fetchone()
    return round(float(row[0]), 1) if row and row[0] is not None else None


def _projections(
    conn: psycopg.Connection[Any], total: int, stall_seconds: float
) -> dict[str, dict[str, Any]]:
    if not _exists(conn, "projection_state"):
        return {}
    parked: dict[str, int] = {}
    if _exists(conn, "projection_dead_letters"):
        parked = dict(
            conn.execute(
                "SELECT projection, count(*) FROM projection_dead_letters "
                "WHERE replayed_at IS NULL GROUP BY projection"
            ).fetchall()
        )
    out = {}
    for name, seen, updated, idle in conn.execute(
        "SELECT projection, seen, updated_at, extract(epoch FROM now() - updated_at) "
        "FROM projection_state ORDER BY projection"
    ).fetchall():
        lag = max(total - int(seen), 0)
        out[name] = {
            "lag": lag,
            "seen": int(seen),
            "updated_at": updated.isoformat(),
            "idle_s": round(float(idle), 1),
            "stalled": lag > 0 and float(idle) > stall_seconds,
            "parked": int(parked.get(name, 0)),
        }
    return out


def _workers(conn: psycopg.Connection[Any], stale_seconds: float) -> list[dict[str, Any]]:
    if not _exists(conn, "worker_heartbeats"):
        return []
    rows = conn.execute(
        "SELECT worker, kind, extract(epoch FROM now() - beat_at), kafka_ok, progress, detail "
        "FROM worker_heartbeats WHERE beat_at > now() - %s * interval '1 s' "
        "ORDER BY kind, worker",
        (FORGET_AFTER,),
    ).fetchall()
    return [
        {
            "worker": worker,
            "kind": kind,
            "beat_age_s": round(float(age), 1),
            "alive": float(age) <= stale_seconds,
            "kafka_ok": kafka_ok,
            "progress": int(progress),
            "detail": detail,
        }
        for worker, kind, age, kafka_ok, progress, detail in rows
    ]


def _scalar(conn: psycopg.Connection[Any], sql: str, params: tuple[Any, ...] = ()) -> int:
    row = conn.execute(sql, params).fetchone()
    return int(row[0]) if row else 0


def _exists(conn: psycopg.Connection[Any], table: str) -> bool:
    row = conn.execute("SELECT to_regclass(%s)", (table,)).fetchone()
    return bool(row and row[0])
