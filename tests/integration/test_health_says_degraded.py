"""/health says "degraded", with its reasons and still HTTP 200, when a projection stalls
or a worker stops beating; "ok" again once they move; /metrics shows the same."""

from __future__ import annotations

import time
from collections.abc import Callable

from fastapi.testclient import TestClient

from api.app import create_app
from composition.bootstrap import System
from infra.heartbeats import Heartbeat
from tests.actors import TESTER
from tests.integration.support import eventually


def test_a_stalled_projection_and_a_silent_worker_make_health_degraded(
    make_system: Callable[..., System],
) -> None:
    # Workers beat every 2 s (and poll for 1 s): silent for 3.5 s is frozen here.
    system = make_system(health_backlog_seconds=1.0, health_heartbeat_seconds=3.5)
    system.make_runner()
    with TestClient(create_app(system=system)) as client:
        assert client.get("/health").json()["status"] == "ok"
        for code in ("HNM-A", "HNM-B"):
            system.catalogue.register_library(TESTER, code, f"Thư viện {code}", "school", "Phủ Lý")
        time.sleep(1.5)  # no projector runs: the lag does not move
        answer = client.get("/health")
        body = answer.json()
        assert answer.status_code == 200 and body["status"] == "degraded"
        assert any("projection libraries has stalled" in r for r in body["reasons"])
        assert "libshare_degraded 1" in client.get("/metrics").text.splitlines()

        system.start_projector()  # its heartbeat beats while it runs
        eventually(lambda: client.get("/health").json()["status"] == "ok", what="ok again")
        workers = client.get("/health").json()["workers"]
        assert [w["kind"] for w in workers] == ["projector"] and workers[0]["alive"]

        frozen = Heartbeat(system.db, "relay", worker="relay@elsewhere:1")
        frozen.beat(progress=0, kafka_ok=True)  # then never again, as a frozen process
        time.sleep(4)
        body = client.get("/health").json()
        assert body["status"] == "degraded"
        assert any("relay relay@elsewhere:1 has not beaten" in r for r in body["reasons"])
        age = 'libshare_worker_heartbeat_age_seconds{kind="relay",worker="relay@elsewhere:1"}'
        assert any(line.startswith(age) for line in client.get("/metrics").text.splitlines())
        frozen.stop()  # a clean stop removes its row
        assert client.get("/health").json()["status"] == "ok"
