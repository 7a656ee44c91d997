"""The event store's own history, as its operators changed it: a restore "as of" an
instant cuts history there (after a bad import, a mistaken mass action). Each cut is an
aggregate of its own whose one event says when history was cut, why, who cut it, and
what was kept and left out, so that auditors reading the log see the cut (ADR 0024)."""

from __future__ import annotations

from datetime import datetime

from eventsourcing.domain import Aggregate

from domain.errors import InvalidInput
from domain.text import one_line


class HistoryCut(Aggregate):
    TYPE_NAME = "history"

    class Cut(Aggregate.Created):
        as_of: str  # ISO 8601: the instant history was restored to
        reason: str
        kept: int  # events restored (up to the instant)
        dropped: int  # events recorded after it, left out
        kept_digest: str  # the digest over the kept events (infra/backup_archive.py)
        source: str  # what the kept history came from: the backup's digest, the log

    def __init__(
        self, as_of: str, reason: str, kept: int, dropped: int, kept_digest: str, source: str
    ) -> None:
        self.as_of = datetime.fromisoformat(as_of)
        self.reason = reason
        self.kept = kept
        self.dropped = dropped
        self.kept_digest = kept_digest
        self.source = source

    @classmethod
    def record(
        cls, as_of: datetime, reason: str, kept: int, dropped: int, kept_digest: str, source: str
    ) -> HistoryCut:
        if as_of.tzinfo is None:
            raise InvalidInput("the instant history is cut at needs its time zone")
        reason = one_line(reason, "the reason for cutting history", 500)
        if not reason.strip():
            raise InvalidInput("cutting history needs a reason")
        return cls._create(
            cls.Cut,
            as_of=as_of.isoformat(),
            reason=reason,
            kept=kept,
            dropped=dropped,
            kept_digest=kept_digest,
            source=source,
        )
