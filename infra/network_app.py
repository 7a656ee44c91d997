"""The write side's application: commands on the network's aggregates, stored in the
PostgreSQL event store. The API, the CLI and the workers call these methods."""

from __future__ import annotations

from contextvars import ContextVar
from datetime import date
from functools import cached_property
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import IntegrityError, JSONTranscoder, Transcoding

from domain.errors import AlreadyExists, NotFound
from domain.library import Library
from infra.account_commands import AccountCommands
from infra.event_store import APP_NAME
from infra.ill_commands import IllCommands
from infra.shipment_commands import ShipmentCommands
from infra.tracing import current_traceparent, tracer

_tracer = tracer("libshare.commands")

# Who is acting (account, role, library), set by the API per request; recorded with events.
current_actor: ContextVar[dict[str, Any] | None] = ContextVar("current_actor", default=None)


class DateAsISO(Transcoding):
    type = date
    name = "date_iso"

    def encode(self, obj: date) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> date:
        return date.fromisoformat(data)


class NetworkApp(IllCommands, ShipmentCommands, AccountCommands, Application[UUID]):
    name = APP_NAME

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        transcoder.register(DateAsISO())

    def close(self) -> None:
        close_recorder = getattr(self.recorder, "close", None)
        if close_recorder is not None:
            close_recorder()  # its commit notifier (infra/commit_notifier.py)
        super().close()

    def _save(
        self,
        *aggregates: Any,
        actor: dict[str, Any] | None = None,
        command: dict[str, Any] | None = None,
    ) -> None:
        metadata: dict[str, Any] = {}
        traceparent = current_traceparent()
        if traceparent:
            metadata["traceparent"] = traceparent
        actor = actor or current_actor.get()
        if actor:
            metadata["actor"] = actor
        if not self._direct_save:
            self.save(*aggregates, metadata=metadata, command=command)
            return
        events = [event for aggregate in aggregates for event in aggregate.collect_events()]
        if events:
            stored = [self.mapper.to_stored_event(event) for event in events]
            self.recorder.insert_events(stored, metadata=metadata, command=command)

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

    def register_library(
        self, code: str, name: str, kind: str, locality: str, actor: dict[str, Any] | None = None
    ) -> tuple[Library, bool]:
        """Register a library; a repeat with the same data returns it (created=False)."""
        with _tracer.start_as_current_span("register_library") as span:
            library = Library.register(code, name, kind, locality)
            span.set_attribute("libshare.library", library.code)
            try:
                self._save(library, actor=actor)
                return library, True
            except IntegrityError:
                existing = self.get_library(library.code)
                if existing.same_registration(name, kind, locality):
                    return existing, False
                raise AlreadyExists(
                    f"library {library.code} is already registered with other data"
                ) from None

    def rename_library(
        self, code: str, name: str, reason: str, actor: dict[str, Any] | None = None
    ) -> Library:
        """Rename a library. Renaming to its current name changes nothing (safe to retry)."""
        with _tracer.start_as_current_span("rename_library"):
            library = self.get_library(code)
            library.rename(name, reason)
            self._save(library, actor=actor)
            return library

    def current_library(self, code: str) -> Library:
        """The library as it is now, for reading only (never change the object)."""
        try:
            library: Library = self.fresh().get(Library.id_for(code.strip().upper()))
        except AggregateNotFoundError:
            raise NotFound(f"library {code} is not registered") from None
        return library

    def get_library(self, code: str) -> Library:
        try:
            library: Library = self.repository.get(Library.id_for(code.strip().upper()))
        except AggregateNotFoundError:
            raise NotFound(f"library {code} is not registered") from None
        return library
