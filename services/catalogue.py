"""Catalogue and policies: the network's libraries, the union catalogue's works and
holdings, and each library's lending policy. Registering is idempotent: a repeat with the
same data returns what is there; other data under the same code is AlreadyExists."""

from __future__ import annotations

from contextlib import suppress
from typing import Any

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError

from domain.access import Actor
from domain.catalogue import Holding, Work
from domain.catalogue_record import WorkKey, title_author_key
from domain.errors import AlreadyExists, InvalidInput, NotFound
from domain.lending_policy import LendingPolicy
from domain.library import Library
from infra.network_app import NetworkApp
from infra.tracing import tracer
from services import aggregates

_tracer = tracer("libshare.commands")


class CatalogueService:
    def __init__(self, store: NetworkApp) -> None:
        self.store = store

    # -- libraries and their policies -----------------------------------------------------
    def register_library(
        self, actor: Actor, code: str, name: str, kind: str, locality: str
    ) -> tuple[Library, bool]:
        """Register a library; a repeat with the same data returns it (created=False)."""
        with _tracer.start_as_current_span("register_library") as span:
            library = Library.register(code, name, kind, locality)
            span.set_attribute("libshare.library", library.code)
            try:
                self.store.record(library, actor=actor)
                return library, True
            except IntegrityError:
                existing = self.get_library(library.code)
                if existing.same_registration(name, kind, locality):
                    return existing, False
                raise AlreadyExists(
                    f"library {library.code} is already registered with other data"
                ) from None

    def set_policy(self, actor: Actor, library: str, policy: LendingPolicy) -> Library:
        lib = self.get_library(library)
        lib.set_policy(policy)
        self.store.record(lib, actor=actor)
        return lib

    def get_library(self, code: str) -> Library:
        return aggregates.library(self.store, code)

    def exists(self, code: str) -> bool:
        """Whether a library of this code is registered (on the write side)."""
        try:
            aggregates.current_library(self.store, code)
        except (NotFound, InvalidInput):
            return False
        return True

    def current_library(self, code: str) -> Library:
        """The library as it is now, for reading only (never change the object)."""
        return aggregates.current_library(self.store, code)

    # -- the union catalogue --------------------------------------------------------------
    def register_work(self, actor: Actor, **fields: Any) -> tuple[Work, bool]:
        """Register a work with the key of its title and author (ADR 0025), so that a
        library's imported record of it merges into it. A repeat with the same data
        returns it, and claims its key if it had none (works registered before keys)."""
        work = Work.register(**fields)
        try:
            self.store.record(work, *self._unclaimed_key(work), actor=actor)
            return work, True
        except IntegrityError:
            pass
        try:
            existing: Work = self.store.repository.get(work.id)
        except AggregateNotFoundError:  # another work took the key meanwhile
            self.store.record(work, actor=actor)
            return work, True
        if (existing.title, existing.kind, existing.shipping) != (
            work.title,
            work.kind,
            work.shipping,
        ):
            raise AlreadyExists(f"work {work.code} exists with other data") from None
        key = self._unclaimed_key(existing)
        if key:
            with suppress(IntegrityError):  # claimed meanwhile: the first claim stands
                self.store.record(*key, actor=actor)
        return existing, False

    def _unclaimed_key(self, work: Work) -> list[WorkKey]:
        key = title_author_key(work.title, work.creator)
        if self.store.stored_ids([WorkKey.id_for(key)]):
            return []
        return [WorkKey.claim(key, work.code)]

    def register_holding(
        self, actor: Actor, work: str, library: str, copies: int, digital_lendable: int = 0
    ) -> Holding:
        self.get_work(work)
        self.get_library(library)
        holding = Holding.register(work, library, copies, digital_lendable)
        try:
            self.store.record(holding, actor=actor)
            return holding
        except IntegrityError:
            existing: Holding = self.store.repository.get(holding.id)
            existing.change_copies(copies, digital_lendable)
            self.store.record(existing, actor=actor)
            return existing

    def get_work(self, code: str) -> Work:
        return aggregates.work(self.store, code)
