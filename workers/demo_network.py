"""Loads the demo network (workers/demo/demo-network.json, copied from ../shared) through
commands, never SQL: so the demo's history is real events, relayed and projected."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import structlog

from infra.network_app import NetworkApp

log = structlog.get_logger("libshare.demo")

DEMO_ACTOR = {"account": "demo-loader", "role": "network_admin"}


def demo_network() -> dict[str, Any]:
    text = (Path(__file__).parent / "demo" / "demo-network.json").read_text("utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def load_demo(app: NetworkApp) -> int:
    """Register the demo libraries. Idempotent: returns how many were new."""
    created = 0
    for lib in demo_network()["libraries"]:
        _, new = app.register_library(
            lib["code"], lib["name"], lib["kind"], lib["locality"], actor=DEMO_ACTOR
        )
        created += int(new)
    log.info("demo network loaded", libraries_registered=created)
    return created


def load_demo_on_first_start(app: NetworkApp) -> bool:
    """Load the demo only into an empty event store (a first start)."""
    if app.recorder.max_notification_id() is not None:
        return False
    load_demo(app)
    return True
