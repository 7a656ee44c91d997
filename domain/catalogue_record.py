"""A library's own catalogue record of a work, as its system (Koha, Libol, Vebrary, ...)
exported it in MARC21, and the keys that match records across libraries (ADR 0025).

A record's id comes from (library, its control number), so importing the same record again
finds it: unchanged (same fingerprint) it records nothing. Each record names the union
work it belongs to and the rule that decided it: a new work, or a merge with the work
another record's ISBN or normalised title, author and year claimed first. A merge is
reversed by `separate`, which gives the record a work of its own."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.errors import IllegalTransition, InvalidInput
from domain.name_ids import name_id
from domain.vietnamese_text import fold, words

LOCAL_ID = re.compile(r"^[^\x00-\x1f\x7f-\x9f]{1,100}$")
NEW_WORK = "new work"


@dataclass(frozen=True)
class Description:
    """What a record says of its work, normalised (domain/vietnamese_text.py)."""

    title: str
    creator: str
    year: str
    isbns: tuple[str, ...]
    originals: tuple[str, ...]  # title and names in their original script (880 fields)
    language: str
    items: tuple[str, ...]  # the barcodes of the library's copies (852/952 $p)

    def as_event(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "creator": self.creator,
            "year": self.year,
            "isbns": list(self.isbns),
            "originals": list(self.originals),
            "language": self.language,
            "items": list(self.items),
        }


class CatalogueRecord(Aggregate):
    TYPE_NAME = "catalogue_record"

    class Imported(Aggregate.Created):
        library: str
        local_id: str
        work: str
        rule: str
        fingerprint: str
        title: str
        creator: str
        year: str
        isbns: list[str]
        originals: list[str]
        language: str
        items: list[str]
        marcxml: str

    def __init__(
        self,
        library: str,
        local_id: str,
        work: str,
        rule: str,
        fingerprint: str,
        title: str,
        creator: str,
        year: str,
        isbns: list[str],
        originals: list[str],
        language: str,
        items: list[str],
        marcxml: str,
    ) -> None:
        self.library = library
        self.local_id = local_id
        self.work = work
        self.rule = rule
        self.fingerprint = fingerprint
        self.description = Description(
            title, creator, year, tuple(isbns), tuple(originals), language, tuple(items)
        )
        self.marcxml = marcxml
        self.deleted = False
        self.merged_from: list[str] = []  # works a separation moved it away from

    @staticmethod
    @lru_cache(maxsize=65536)  # an import asks for each id a few times
    def id_for(library: str, local_id: str) -> UUID:
        return name_id(f"libshare:catalogue-record:{library}:{local_id}")

    @classmethod
    def import_(
        cls,
        library: str,
        local_id: str,
        work: str,
        rule: str,
        fingerprint: str,
        description: Description,
        marcxml: str,
    ) -> CatalogueRecord:
        if not LOCAL_ID.match(local_id):
            raise InvalidInput(f"control number {local_id!r} must be 1 to 100 characters")
        return cls._create(
            cls.Imported,
            id=cls.id_for(library, local_id),
            library=library,
            local_id=local_id,
            work=work,
            rule=rule,
            fingerprint=fingerprint,
            marcxml=marcxml,
            **description.as_event(),
        )

    def update(self, fingerprint: str, description: Description, marcxml: str) -> bool:
        """The library's system sent the record again; True if it changed."""
        if fingerprint == self.fingerprint and not self.deleted:
            return False
        self._updated(fingerprint=fingerprint, marcxml=marcxml, **description.as_event())
        return True

    @event("Updated")
    def _updated(
        self,
        fingerprint: str,
        title: str,
        creator: str,
        year: str,
        isbns: list[str],
        originals: list[str],
        language: str,
        items: list[str],
        marcxml: str,
    ) -> None:
        self.fingerprint = fingerprint
        self.description = Description(
            title, creator, year, tuple(isbns), tuple(originals), language, tuple(items)
        )
        self.marcxml = marcxml
        self.deleted = False

    def separate(self, work: str, reason: str) -> None:
        """Reverse the merge that put this record under another library's work."""
        if self.rule == NEW_WORK or self.work == work:
            raise IllegalTransition("separate", "not merged into another work", what="record")
        self._separated(work=work, previous=self.work, reason=reason)

    @event("Separated")
    def _separated(self, work: str, previous: str, reason: str) -> None:
        self.merged_from.append(previous)
        self.work = work
        self.rule = NEW_WORK

    def delete(self, reason: str) -> bool:
        """The library's system deleted it (an OAI-PMH deleted header); True if it was live."""
        if self.deleted:
            return False
        self._deleted(reason=reason)
        return True

    @event("Deleted")
    def _deleted(self, reason: str) -> None:
        self.deleted = True


class WorkKey(Aggregate):
    """A matching key (an ISBN, or a normalised title, author and year) and the union
    work that claimed it first: the next record with that key merges into the work."""

    TYPE_NAME = "work_key"

    class Claimed(Aggregate.Created):
        key: str
        work: str

    def __init__(self, key: str, work: str) -> None:
        self.key = key
        self.work = work

    @staticmethod
    @lru_cache(maxsize=65536)  # an import asks for each id a few times
    def id_for(key: str) -> UUID:
        return name_id(f"libshare:work-key:{key}")

    @classmethod
    def claim(cls, key: str, work: str) -> WorkKey:
        return cls._create(cls.Claimed, id=cls.id_for(key), key=key, work=work)


# -- matching (ADR 0025): ISBN first, then normalised title, author and year ---------------
_ISBN_CHARS = re.compile(r"[^0-9Xx]")


def _check13(twelve: str) -> str:
    total = sum((3 if i % 2 else 1) * int(d) for i, d in enumerate(twelve))
    return str((10 - total % 10) % 10)


def isbn13(value: str) -> str | None:
    """An ISBN as 13 digits (an ISBN-10 converted), or None if it is none (bad check digit,
    wrong length). Qualifiers such as "(pbk.)" and hyphens are ignored."""
    head = value.strip().split(" ")[0]
    digits = _ISBN_CHARS.sub("", head).upper()
    if len(digits) == 10 and digits[:9].isdigit():
        total = sum((10 - i) * int(d) for i, d in enumerate(digits[:9]))
        check = (11 - total % 11) % 11
        if digits[9] != ("X" if check == 10 else str(check)):
            return None
        return "978" + digits[:9] + _check13("978" + digits[:9])
    if len(digits) == 13 and digits.isdigit():
        return digits if _check13(digits[:12]) == digits[12] else None
    return None


def title_key(folded_title: str, folded_creator: str, year: str) -> str:
    """The key of a work by its normalised (folded) title, author and year."""
    return f"tay:{folded_title}|{folded_creator}|{year}"


def title_author_key(title: str, creator: str) -> str:
    """The key of a work by its title and author alone, words only (no punctuation, no
    dates: "Nguyễn, Du, 1765-1820." is "nguyen du"). Claimed by works registered without
    a year (the demo's, a librarian's); an import looks it up last and never claims it, so
    two editions of other years still become two works."""
    author = [w for w in words(fold(creator)) if not w.isdigit()]
    return f"ta:{' '.join(words(fold(title)))}|{' '.join(author)}"


def match_keys(isbns: tuple[str, ...], title_key_: str) -> list[str]:
    """The keys a record claims, in the order they are tried: its ISBNs, then its title."""
    return [f"isbn:{i}" for i in isbns] + [title_key_]


def rule_of(key: str) -> str:
    """How a merge through `key` is told: 'isbn 978...', 'title, author and year', or
    'title and author' (a work registered without a year)."""
    if key.startswith("isbn:"):
        return f"isbn {key[5:]}"
    return "title and author" if key.startswith("ta:") else "title, author and year"
