"""The entry's handlers for readers and their cards (services/entry.py takes them into its
table): each finds the card's home library, authorises the caller on it (or on the
caller's own library, for a suspension) and calls the readers service."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from domain.access import Actor, Caller, Forbidden, Permission, Platform, Principal, authorise
from domain.reader import reader_ref_of
from services.commands import CardStep, EraseReader, ExportReaderData, RegisterReader, ShowReader
from services.readers import ReadersService

HOME_STEPS = frozenset({"consent", "activate", "renew"})


class ReaderHandlers:
    def __init__(self, readers: ReadersService, clock: Callable[[], datetime]) -> None:
        self.readers = readers
        self.clock = clock

    def table(self) -> dict[type[Any], Callable[[Caller, Any], Any]]:
        return {
            RegisterReader: self._register,
            CardStep: self._step,
            ShowReader: self._show,
            ExportReaderData: self._export,
            EraseReader: self._erase,
        }

    def _register(self, caller: Caller, c: RegisterReader) -> Any:
        library = c.home_library.strip().upper()
        actor = authorise(caller, Permission.READERS_REGISTER, library=library)
        guardian = None
        if c.guardian_name or c.guardian_contact:
            guardian = {"name": c.guardian_name or "", "contact": c.guardian_contact or ""}
        return self.readers.register(
            actor,
            home_library=library,
            name=c.name,
            born=c.date_of_birth,
            contact=c.contact,
            guardian=guardian,
            client_request_id=c.client_request_id,
            today=self.clock().date(),
        )

    def _step(self, caller: Caller, c: CardStep) -> Any:
        reader = self.readers.get(c.reader_ref)
        if c.action in HOME_STEPS:
            library = reader.home_library
        elif c.action == "reinstate":
            # The library that suspended the card, or its home library.
            authorise(
                caller,
                Permission.READERS_MANAGE,
                library={reader.home_library, reader.suspended_by or reader.home_library},
            )
            library = _own_library(caller)
        else:  # a suspension: any library of the network, for its own reasons
            library = _own_library(caller)
        actor = authorise(caller, Permission.READERS_MANAGE, library=library)
        params = {**c.params, "today": self.clock().date()}
        return self.readers.step(actor, reader.reader_ref, c.action, library, params)

    def _show(self, caller: Caller, c: ShowReader) -> Any:
        reader = self.readers.get(c.reader_ref)
        authorise(caller, Permission.READERS_READ, library=reader.home_library)
        return self.readers.show(reader.reader_ref)

    def _own_or_home(self, caller: Caller, reader_ref: str) -> tuple[Actor, str]:
        """The reader themself, or the administrator of the card's home library."""
        ref = reader_ref_of(reader_ref)
        if isinstance(caller, Platform) and caller.reader is not None:
            return authorise(caller, Permission.READERS_SELF, reader=ref), ref
        home = self.readers.get(ref).home_library
        return authorise(caller, Permission.READERS_ERASE, library=home), ref

    def _export(self, caller: Caller, c: ExportReaderData) -> Any:
        _, ref = self._own_or_home(caller, c.reader_ref)
        return self.readers.export(ref)

    def _erase(self, caller: Caller, c: EraseReader) -> Any:
        actor, ref = self._own_or_home(caller, c.reader_ref)
        return self.readers.erase(actor, ref)


def _own_library(caller: Caller) -> str:
    library = caller.library if isinstance(caller, Principal) else None
    if library is None:
        raise Forbidden("only the accounts of a library act for one")
    return library
