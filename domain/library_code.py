"""A library code given by a re-code (ADR 0021). A library's id is derived from the code it
was registered with, and events everywhere name libraries by the code of their day; a new
code is held by a LibraryCode whose id is what `Library.id_for(code)` gives, so a code is
used once only (by a registration or by a re-code, never both) and every code a library
has had leads to it."""

from __future__ import annotations

from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.library import Library


class LibraryCode(Aggregate):
    TYPE_NAME = "library-code"

    class Assigned(Aggregate.Created):
        code: str
        library_id: UUID
        library_code: str  # the code the library was registered with

    def __init__(self, code: str, library_id: UUID, library_code: str) -> None:
        self.code = code
        self.library_id = library_id
        self.library_code = library_code

    @classmethod
    def assign(cls, code: str, library: Library) -> LibraryCode:
        return cls._create(
            cls.Assigned,
            id=Library.id_for(code),
            code=code,
            library_id=library.id,
            library_code=library.codes[0],
        )
