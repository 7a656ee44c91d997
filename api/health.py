"""Health and metrics: the database, Kafka (when configured), and each projection's lag
(events stored but not yet seen by it)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse, PlainTextResponse

from api.deps import system
from infra.kafka_log import broker_answers
from workers.bootstrap import System

router = APIRouter(tags=["meta"])


def projection_lags(sys: System) -> dict[str, dict[str, Any]]:
    with sys.db.transaction() as conn:
        total_row = conn.execute("SELECT count(*) FROM libshare_events").fetchone()
        total = int(total_row[0]) if total_row else 0
        rows = (
            conn.execute(
                "SELECT projection, seen, updated_at FROM projection_state ORDER BY projection"
            ).fetchall()
            if _exists(conn, "projection_state")
            else []
        )
        parked = (
            dict(
                conn.execute(
                    "SELECT projection, count(*) FROM projection_dead_letters "
                    "WHERE replayed_at IS NULL GROUP BY projection"
                ).fetchall()
            )
            if _exists(conn, "projection_dead_letters")
            else {}
        )
    return {
        name: {
            "lag": max(total - int(seen), 0),
            "seen": int(seen),
            "updated_at": updated.isoformat(),
            "parked": int(parked.get(name, 0)),
        }
        for name, seen, updated in rows
    }


def _exists(conn: Any, table: str) -> bool:
    row = conn.execute("SELECT to_regclass(%s)", (table,)).fetchone()
    return bool(row and row[0])


@router.get(
    "/health",
    summary="Database, Kafka and projection lag",
    responses={503: {"description": "Degraded: the same body, saying which part is down"}},
)
def health(sys: Annotated[System, Depends(system)]) -> JSONResponse:
    db_ok = sys.db.ping()
    body: dict[str, Any] = {
        "database": {"ok": db_ok, "embedded": sys.embedded is not None},
        "projection_source": sys.settings.effective_projection_source().value,
    }
    kafka = sys.settings.kafka_bootstrap_servers
    if kafka:
        body["kafka"] = {"ok": broker_answers(kafka), "bootstrap_servers": kafka}
    else:
        body["kafka"] = {"configured": False}
    if db_ok:
        body["projections"] = projection_lags(sys)
    ok = db_ok and body["kafka"].get("ok", True)
    body["status"] = "ok" if ok else "degraded"
    return JSONResponse(body, status_code=200 if ok else 503)


@router.get("/metrics", summary="Prometheus metrics", response_class=PlainTextResponse)
def metrics(sys: Annotated[System, Depends(system)]) -> str:
    lines = [
        "# HELP libshare_projection_lag_events Events stored but not yet seen by a projection.",
        "# TYPE libshare_projection_lag_events gauge",
    ]
    lags = projection_lags(sys)
    for name, info in lags.items():
        lines.append(f'libshare_projection_lag_events{{projection="{name}"}} {info["lag"]}')
    lines += [
        "# HELP libshare_projection_parked_events Events parked in the dead-letter table.",
        "# TYPE libshare_projection_parked_events gauge",
    ]
    for name, info in lags.items():
        lines.append(f'libshare_projection_parked_events{{projection="{name}"}} {info["parked"]}')
    return "\n".join(lines) + "\n"
