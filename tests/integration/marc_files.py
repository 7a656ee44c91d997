"""MARC21 files as Vietnamese libraries' systems export them, made with pymarc for the
tests: Vietnamese in precomposed and decomposed form, with marks out of order, CJK
originals in linked 880 fields, Koha's items in 952, MARC-8 as older systems write it."""

from __future__ import annotations

import io
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import pymarc
from pymarc import Field, Indicators, Record, Subfield

INTEROP = Path(__file__).resolve().parents[3] / "shared" / "interop"


@dataclass(frozen=True)
class Book:
    control: str
    title: str
    author: str = ""
    year: str = "2015"
    isbn: str = ""
    barcodes: tuple[str, ...] = ()
    originals: tuple[str, ...] = ()  # 880s linked to 245 (the title in its own script)
    extra: tuple[Field, ...] = field(default=())


def record(book: Book, *, utf8: bool = True) -> Record:
    r = Record(force_utf8=utf8)
    r.leader = pymarc.Leader("00000nam a22000007a 4500" if utf8 else "00000nam  22000007a 4500")
    if book.control:
        r.add_field(Field(tag="001", data=book.control))
    r.add_field(Field(tag="008", data=f"150101s{book.year}    vm            000 0 vie d"))
    if book.isbn:
        r.add_field(
            Field(tag="020", indicators=Indicators(" ", " "), subfields=[Subfield("a", book.isbn)])
        )
    if book.author:
        r.add_field(
            Field(
                tag="100",
                indicators=Indicators("1", " "),
                subfields=[Subfield("a", book.author + ",")],
            )
        )
    if book.title:
        linked = [Subfield("6", "880-01")] if book.originals else []
        r.add_field(
            Field(
                tag="245",
                indicators=Indicators("1", "0"),
                subfields=[*linked, Subfield("a", book.title + " /")],
            )
        )
    r.add_field(
        Field(
            tag="264",
            indicators=Indicators(" ", "1"),
            subfields=[
                Subfield("a", "Hà Nội :" if utf8 else "Ha Noi :"),
                Subfield("b", "Văn học," if utf8 else "Van hoc,"),
                Subfield("c", book.year),
            ],
        )
    )
    for n, original in enumerate(book.originals, start=1):
        r.add_field(
            Field(
                tag="880",
                indicators=Indicators("1", "0"),
                subfields=[Subfield("6", f"245-{n:02d}/$1"), Subfield("a", original)],
            )
        )
    for barcode in book.barcodes:
        r.add_field(
            Field(
                tag="952",
                indicators=Indicators(" ", " "),
                subfields=[Subfield("a", "KB"), Subfield("p", barcode)],
            )
        )
    for extra in book.extra:
        r.add_field(extra)
    return r


def iso2709(*books: Book) -> bytes:
    return b"".join(record(b).as_marc() for b in books)


def marcxml(*books: Book) -> bytes:
    out = io.BytesIO()
    writer = pymarc.XMLWriter(out)
    for b in books:
        writer.write(record(b))
    writer.close(close_fh=False)
    return out.getvalue()


def marc8(book: Book) -> bytes:
    """A record in MARC-8 (leader/09 blank): its title's text must be MARC-8 already (its
    combining marks as MARC-8 bytes, before the letter they go on)."""
    r = record(book, utf8=False)
    r.to_unicode = False  # else pymarc writes it as UTF-8, whatever the leader says
    return r.as_marc()


def isbn(n: int) -> str:
    """A valid ISBN-13 of the Vietnamese range (978-604), hyphenated as printed."""
    twelve = f"978604{n:06d}"
    check = (10 - sum((3 if i % 2 else 1) * int(d) for i, d in enumerate(twelve)) % 10) % 10
    return f"{twelve[:3]}-{twelve[3:6]}-{twelve[6:]}-{check}"


def nfd(text: str) -> str:
    return unicodedata.normalize("NFD", text)


def shared(path: str) -> Path | None:
    found = INTEROP / path
    return found if found.exists() else None
