"""The union catalogue's write side: works (bibliographic records with a shipping policy
and a visibility scope) and holdings (a library's copies of a work)."""

from __future__ import annotations

import re
from enum import StrEnum
from functools import lru_cache
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.errors import InvalidInput
from domain.library import LibraryKind
from domain.name_ids import name_id

WORK_CODE = re.compile(r"^W-[A-Z0-9]+(-[A-Z0-9]+)*$")


class Shipping(StrEnum):
    ALLOWED = "allowed"
    NEVER = "never"  # rare, Hán Nôm: never leaves its library; digital access only


class ItemKind(StrEnum):
    BOOK = "book"
    LOCAL_STUDIES = "local_studies"
    HAN_NOM = "han_nom"
    RARE_MAP = "rare_map"
    RESTRICTED = "restricted"


# What a work may say, as sets once (an import registers a work for most records).
_KINDS = frozenset(k.value for k in ItemKind)
_SHIPPINGS = frozenset(s.value for s in Shipping)
_LIBRARY_KINDS = frozenset(k.value for k in LibraryKind)


class Work(Aggregate):
    TYPE_NAME = "work"

    class Registered(Aggregate.Created):
        code: str
        title: str
        creator: str
        kind: str
        language: str
        shipping: str
        digital: bool
        visible_to: list[str]

    def __init__(
        self,
        code: str,
        title: str,
        creator: str,
        kind: str,
        language: str,
        shipping: str,
        digital: bool,
        visible_to: list[str],
    ) -> None:
        self.code = code
        self.title = title
        self.creator = creator
        self.kind = ItemKind(kind)
        self.language = language
        self.shipping = Shipping(shipping)
        self.digital = digital
        self.visible_to = list(visible_to)

    @staticmethod
    @lru_cache(maxsize=65536)  # an import asks for each id a few times
    def id_for(code: str) -> UUID:
        return name_id(f"libshare:work:{code}")

    @classmethod
    def register(
        cls,
        code: str,
        title: str,
        kind: str,
        *,
        creator: str = "",
        language: str = "vi",
        shipping: str = "allowed",
        digital: bool = False,
        visible_to: list[str] | None = None,
    ) -> Work:
        code = code.strip().upper()
        if not WORK_CODE.match(code) or len(code) > 40:
            raise InvalidInput(f"work code {code!r} must look like W-KIEU (at most 40 characters)")
        if not title.strip() or len(title) > 500:
            raise InvalidInput("a work's title must be 1 to 500 characters")
        if kind not in _KINDS:
            raise InvalidInput(f"item kind {kind!r} is not one of {[k.value for k in ItemKind]}")
        if shipping not in _SHIPPINGS:
            raise InvalidInput(f"shipping {shipping!r} must be 'allowed' or 'never'")
        scope = sorted(set(visible_to or []))
        unknown = set(scope) - _LIBRARY_KINDS
        if unknown:
            raise InvalidInput(f"visible_to names unknown library kinds: {sorted(unknown)}")
        return cls._create(
            cls.Registered,
            id=cls.id_for(code),
            code=code,
            title=title.strip(),
            creator=creator.strip(),
            kind=kind,
            language=language,
            shipping=shipping,
            digital=digital,
            visible_to=scope,
        )

    def visible_to_kind(self, library_kind: str) -> bool:
        return not self.visible_to or library_kind in self.visible_to


class Holding(Aggregate):
    """A library's copies of one work; its id comes from (work, library)."""

    TYPE_NAME = "holding"

    class Registered(Aggregate.Created):
        work: str
        library: str
        copies: int
        digital_lendable: int

    def __init__(self, work: str, library: str, copies: int, digital_lendable: int) -> None:
        self.work = work
        self.library = library
        self.copies = copies
        self.digital_lendable = digital_lendable

    @staticmethod
    @lru_cache(maxsize=65536)  # an import asks for each id a few times
    def id_for(work: str, library: str) -> UUID:
        return name_id(f"libshare:holding:{work}:{library}")

    @staticmethod
    def _check(copies: int, digital_lendable: int) -> None:
        if not 0 <= copies <= 100_000 or not 0 <= digital_lendable <= copies:
            raise InvalidInput("copies must be 0..100000 and digital_lendable 0..copies")

    @classmethod
    def register(cls, work: str, library: str, copies: int, digital_lendable: int = 0) -> Holding:
        cls._check(copies, digital_lendable)
        return cls._create(
            cls.Registered,
            id=cls.id_for(work, library),
            work=work,
            library=library,
            copies=copies,
            digital_lendable=digital_lendable,
        )

    def change_copies(self, copies: int, digital_lendable: int) -> None:
        self._check(copies, digital_lendable)
        if (copies, digital_lendable) != (self.copies, self.digital_lendable):
            self._copies_changed(copies=copies, digital_lendable=digital_lendable)

    @event("CopiesChanged")
    def _copies_changed(self, copies: int, digital_lendable: int) -> None:
        self.copies = copies
        self.digital_lendable = digital_lendable
