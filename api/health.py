"""Health and metrics: the database, Kafka (when configured), the relay's backlog, each
projection's lag and the workers' heartbeats. 503 only when the database does not answer;
otherwise 200, with `status` "degraded" and the reasons when the log is not healthy."""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse, PlainTextResponse

from api.backup_health import backup_health
from api.deps import system
from api.log_health import LogHealth, log_health
from composition.bootstrap import System
from infra.kafka_log import broker_answers

router = APIRouter(tags=["meta"])


_KAFKA_SEEN: dict[str, tuple[float, bool]] = {}  # bootstrap -> (when asked, answered)
KAFKA_ASK_EVERY = 5.0  # seconds: probes and scrapes share one answer, not a client each


def kafka_answers(bootstrap: str) -> bool:
    """Whether a fresh client reaches Kafka, asked at most every KAFKA_ASK_EVERY seconds
    (an outage makes each question take seconds)."""
    asked, answered = _KAFKA_SEEN.get(bootstrap, (0.0, False))
    if time.monotonic() - asked >= KAFKA_ASK_EVERY:
        answered = broker_answers(bootstrap)
        _KAFKA_SEEN[bootstrap] = (time.monotonic(), answered)
    return answered


def report(sys: System) -> LogHealth:
    s = sys.settings
    kafka = s.kafka_bootstrap_servers
    return log_health(
        sys.db,
        kafka_configured=bool(kafka),
        kafka_ok=kafka_answers(kafka) if kafka else None,
        backlog_seconds=s.health_backlog_seconds,
        heartbeat_seconds=s.health_heartbeat_seconds,
    )


@router.get(
    "/health",
    summary="Database, Kafka, the relay's backlog, projections and workers",
    responses={503: {"description": "The database does not answer: the same body, saying so"}},
)
def health(sys: Annotated[System, Depends(system)]) -> JSONResponse:
    db_ok = sys.db.ping()
    body: dict[str, Any] = {
        "database": {"ok": db_ok, "embedded": sys.embedded is not None},
        "projection_source": sys.settings.effective_projection_source().value,
    }
    kafka = sys.settings.kafka_bootstrap_servers
    if not db_ok:
        body["kafka"] = {"configured": bool(kafka)}
        body["status"] = "down"
        body["reasons"] = ["the database does not answer"]
        return JSONResponse(body, status_code=503, headers={"Retry-After": "5"})
    r = report(sys)
    if kafka:
        body["kafka"] = {"ok": bool(r.kafka_ok), "bootstrap_servers": kafka}
        body["relay"] = r.relay
    else:
        body["kafka"] = {"configured": False}
    body["projections"] = r.projections
    body["workers"] = r.workers
    body["backup"], reason = backup_health(sys)
    if reason:
        r.reasons.append(reason)
    body["status"] = r.status
    body["reasons"] = r.reasons
    return JSONResponse(body, status_code=200)


@router.get("/metrics", summary="Prometheus metrics", response_class=PlainTextResponse)
def metrics(sys: Annotated[System, Depends(system)]) -> str:
    r = report(sys)
    out = Metrics()
    out.gauge("libshare_degraded", "1 when /health says degraded.", [({}, int(bool(r.reasons)))])
    if r.relay is not None:
        kafka_up = int(bool(r.kafka_ok))
        out.gauge("libshare_kafka_up", "1 when a fresh client reaches Kafka.", [({}, kafka_up)])
        out.gauge(
            "libshare_relay_unpublished_events",
            "Stored events the relay has not yet published to Kafka.",
            [({}, r.relay["unpublished"])],
        )
        out.gauge(
            "libshare_relay_oldest_unpublished_seconds",
            "Age of the oldest stored event not yet on Kafka (0: none).",
            [({}, r.relay["oldest_unpublished_age_s"] or 0)],
        )
    projections = r.projections.items()
    out.gauge(
        "libshare_projection_lag_events",
        "Events stored but not yet seen by a projection.",
        [({"projection": n}, p["lag"]) for n, p in projections],
    )
    out.gauge(
        "libshare_projection_parked_events",
        "Events parked in the dead-letter table.",
        [({"projection": n}, p["parked"]) for n, p in projections],
    )
    out.gauge(
        "libshare_projection_idle_seconds",
        "Seconds since a projection last applied an event.",
        [({"projection": n}, p["idle_s"]) for n, p in projections],
    )
    out.gauge(
        "libshare_worker_heartbeat_age_seconds",
        "Seconds since a relay or projector last beat.",
        [({"kind": w["kind"], "worker": w["worker"]}, w["beat_age_s"]) for w in r.workers],
    )
    return out.text()


class Metrics:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def gauge(self, name: str, help_text: str, samples: list[tuple[dict[str, str], Any]]) -> None:
        self.lines += [f"# HELP {name} {help_text}", f"# TYPE {name} gauge"]
        for labels, value in samples:
            inner = ",".join(f'{k}="{v}"' for k, v in labels.items())
            self.lines.append(f"{name}{{{inner}}} {value}" if inner else f"{name} {value}")

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"
