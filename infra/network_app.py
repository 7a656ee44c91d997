"""The event store's application: one eventsourcing `Application` that every service saves
through (the relay reads its one notification log; some saves span aggregates on
purpose). It holds no use cases: those are the services in services/, built in the
composition root (composition/bootstrap.py)."""

from __future__ import annotations

from datetime import date
from functools import cached_property
from typing import Any
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import JSONTranscoder, Mapper, Transcoding

from domain.access import Actor
from infra.causation import cause_metadata
from infra.event_store import APP_NAME, LibshareRecorder, RecordedCommand
from infra.fresh_aggregates import FreshAggregates
from infra.personal_data import PersonalDataMapper, ReaderKeys
from infra.tracing import current_traceparent


class DateAsISO(Transcoding):
    type = date
    name = "date_iso"

    def encode(self, obj: date) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> date:
        return date.fromisoformat(data)


class NetworkApp(Application[UUID]):
    """`reader_keys`: the readers' data keys, with which the mapper seals their personal
    data (infra/personal_data.py); without them, no event with personal data is stored."""

    name = APP_NAME

    def __init__(
        self, env: dict[str, str] | None = None, *, reader_keys: ReaderKeys | None = None
    ) -> None:
        self.reader_keys = reader_keys
        super().__init__(env=env)

    def construct_mapper(self) -> Mapper[UUID]:
        return PersonalDataMapper(self.construct_transcoder(), self.reader_keys)

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        transcoder.register(DateAsISO())

    def close(self) -> None:
        close_recorder = getattr(self.recorder, "close", None)
        if close_recorder is not None:
            close_recorder()  # its commit notifier (infra/commit_notifier.py)
        super().close()

    def record(
        self,
        *aggregates: Aggregate,
        actor: Actor | None,
        command: dict[str, Any] | None = None,
    ) -> None:
        """Save the aggregates' new events in one transaction, with who acted (None: no
        one is named, as for the few saves no command asks for) and the trace context;
        with `command`, its idempotency record too (infra/event_store.py)."""
        metadata: dict[str, Any] = {}
        traceparent = current_traceparent()
        if traceparent:
            metadata["traceparent"] = traceparent
        if actor:
            metadata["actor"] = actor
        metadata.update(cause_metadata(traceparent))  # correlation, causation, trace ids
        if not self._direct_save:
            self.save(*aggregates, metadata=metadata, command=command)
            return
        events = [event for aggregate in aggregates for event in aggregate.collect_events()]
        if events:
            stored = [self.mapper.to_stored_event(event) for event in events]
            self.recorder.insert_events(stored, metadata=metadata, command=command)

    def stored_ids(self, ids: list[UUID]) -> set[UUID]:
        """Which of these aggregates exist (infra/event_store.py)."""
        recorder: LibshareRecorder = self.recorder  # type: ignore[assignment]
        return recorder.stored_ids(ids)

    def recorded_command(self, key: str) -> RecordedCommand | None:
        """The command recorded with this idempotency key, if there is one."""
        recorder: LibshareRecorder = self.recorder  # type: ignore[assignment]
        return recorder.recorded_command(key)

    @cached_property
    def fresh(self) -> FreshAggregates:
        """Aggregates for read-only checks on every request (signing in): cached, and
        brought up to date from the event store on each use (infra/fresh_aggregates.py)."""
        return FreshAggregates(self)

    @cached_property
    def _direct_save(self) -> bool:
        """Whether a command's save may go straight to the recorder: everything else
        `Application.save` does (snapshots, the aggregate cache, the hooks after saving)
        is off or empty here. It saves ~15% of a command's CPU (bench/README.md)."""
        cls = type(self)
        return (
            not self.snapshots
            and self.repository.cache is None
            and cls._notify is Application._notify
            and cls.notify is Application.notify
        )
