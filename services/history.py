"""The store's own history (ADR 0024): a restore as of an instant records the cut as an
event, so that auditors see where history was cut and why."""

from __future__ import annotations

from typing import Any

from domain.access import Actor
from domain.history import HistoryCut
from infra.network_app import NetworkApp
from services.commands import CutHistory


class HistoryService:
    def __init__(self, store: NetworkApp) -> None:
        self.store = store

    def cut(self, actor: Actor, c: CutHistory) -> dict[str, Any]:
        cut = HistoryCut.record(c.as_of, c.reason, c.kept, c.dropped, c.kept_digest, c.source)
        self.store.record(cut, actor=actor)
        return {
            "id": str(cut.id),
            "as_of": cut.as_of.isoformat(),
            "reason": cut.reason,
            "kept": cut.kept,
            "dropped": cut.dropped,
        }
