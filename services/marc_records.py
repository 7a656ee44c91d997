"""MARC21 records as libraries export them (ISO 2709 or MARCXML; UTF-8 or MARC-8), read
with pymarc and turned into what the union catalogue keeps: every text NFC-normalised with
its marks in order (domain/vietnamese_text.py), a description to match and search by, the
record as MARCXML (what OAI-PMH and SRU serve), and a fingerprint of it. A record that
cannot be read or lacks what matching needs is a `Rejected` with its reason. A large file
is read in a child process (`read_aside`) while the import goes on."""

from __future__ import annotations

import gc
import hashlib
import io
import multiprocessing
import re
from base64 import b32encode
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property, lru_cache
from itertools import islice
from multiprocessing.connection import Connection
from xml.sax.saxutils import escape, quoteattr

import pymarc
from pymarc import Leader, Record, Subfield

from domain.catalogue_record import Description, isbn13, title_author_key, title_key
from domain.copy import BARCODE
from domain.vietnamese_text import fold, normalise

_TRAILING = re.compile(r"[\s/:;=,.]+$")
_YEAR = re.compile(r"\b(1[0-9]{3}|20[0-9]{2})\b")


@dataclass(frozen=True)
class Parsed:
    position: int  # 1-based, in the file
    local_id: str
    description: Description
    title_key: str
    marcxml: str
    fingerprint: str
    title_author_key: str = ""  # looked up last: a work registered without a year

    @cached_property
    def new_work_code(self) -> str:
        """The code a record's work gets when it matches none: W-<ISBN-13>, or W-T and a
        digest of its title key (deterministic, so two imports racing agree)."""
        if self.description.isbns:
            return f"W-{self.description.isbns[0]}"
        # 16 base32 characters are the digest's first 10 bytes (5 bytes to 8 characters):
        # encoding those alone gives the same code at a third of the cost.
        digest = hashlib.sha256(self.title_key.encode()).digest()
        return f"W-T{b32encode(digest[:10]).decode()}"


@dataclass(frozen=True)
class Rejected:
    position: int
    local_id: str | None
    reason: str


_MARC_ROOT = (
    '<record xmlns="http://www.loc.gov/MARC21/slim" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
    'xsi:schemaLocation="http://www.loc.gov/MARC21/slim '
    'http://www.loc.gov/standards/marcxml/schema/MARC21slim.xsd">'
)
_XML_CHARS = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _text(value: str) -> str:
    """Text for XML: escaped, without the characters XML 1.0 cannot carry."""
    return escape(_XML_CHARS.sub("", value))


@lru_cache(maxsize=4096)  # tags, indicators and subfield codes: a few values, over and over
def _attr(value: str) -> str:
    return quoteattr(_XML_CHARS.sub("", value))


def as_marcxml(record: Record) -> str:
    """A record as one MARCXML <record> (MARC21-slim): what pymarc's record_to_xml writes,
    but some three times as fast (an import writes one per record)."""
    out = [_MARC_ROOT, f"<leader>{_text(str(record.leader))}</leader>"]
    for field in record.fields:
        if field.is_control_field():
            out.append(
                f"<controlfield tag={_attr(field.tag)}>{_text(field.data or '')}</controlfield>"
            )
            continue
        out.append(
            f"<datafield tag={_attr(field.tag)} ind1={_attr(field.indicator1 or ' ')} "
            f"ind2={_attr(field.indicator2 or ' ')}>"
        )
        out += [
            f"<subfield code={_attr(s.code)}>{_text(s.value)}</subfield>" for s in field.subfields
        ]
        out.append("</datafield>")
    out.append("</record>")
    return "".join(out)


def detect_marcxml(data: bytes) -> bool:
    head = data[:200].lstrip(b"\xef\xbb\xbf \t\r\n")
    return head.startswith(b"<")


def read(data: bytes, library: str) -> Iterator[Parsed | Rejected]:
    """Every record of `library`'s file, in order, each parsed or rejected with its
    reason."""
    if detect_marcxml(data):
        try:
            records: list[Record | None] = list(
                pymarc.parse_xml_to_array(io.BytesIO(data))  # type: ignore[no-untyped-call]
            )
        except Exception as exc:  # a broken XML document: nothing in it can be trusted
            yield Rejected(1, None, f"the MARCXML document could not be read: {exc}")
            return
        for n, record in enumerate(records, start=1):
            yield _parse(n, record, library)
        return
    reader = pymarc.MARCReader(data, to_unicode=True, utf8_handling="strict", permissive=True)
    for n, found in enumerate(reader, start=1):
        if found is None:
            yield Rejected(n, None, f"record {n} could not be read: {reader.current_exception}")
        else:
            yield _parse(n, found, library)


# A file this large is read in a child process while the importing one matches and saves
# (ADR 0025): about 1,300 records of the bench's size, a few hundred real ones; smaller
# ones are one or two batches, too few to overlap. A fork starts at once, with everything
# imported; the child only parses (pymarc, re, hashlib, unicodedata) and writes to its
# pipe, and takes none of the locks the parent's other threads may hold.
ASIDE_BYTES = 256 * 1024
CHUNK = 100  # records sent to the importing process at a time
STALLED_SECONDS = 60.0  # a child that sends nothing for this long is given up
_PROCESSES = multiprocessing.get_context("fork")


def read_aside(data: bytes, library: str) -> Iterator[Parsed | Rejected]:
    """What `read` yields, in the same order; for a large file, parsed in a child process
    (a fork of this one), which runs ahead of the caller by at most what the pipe holds.
    If the child dies or stalls, the rest is read here. The child is ended if the caller
    stops early."""
    if len(data) < ASIDE_BYTES:
        yield from read(data, library)
        return
    received, sent = _PROCESSES.Pipe(duplex=False)
    child = _PROCESSES.Process(
        target=_read_into, args=(sent, data, library), name="marc-reader", daemon=True
    )
    child.start()
    sent.close()
    done = 0
    try:
        while received.poll(STALLED_SECONDS):
            try:
                chunk: list[Parsed | Rejected] | None = received.recv()
            except EOFError:
                break  # it died: the rest is read here
            if chunk is None:
                return
            done += len(chunk)
            yield from chunk
    finally:
        received.close()
        if child.is_alive():
            child.terminate()
        child.join()
    yield from islice(read(data, library), done, None)


def _read_into(sent: Connection, data: bytes, library: str) -> None:
    """The child's side: `read`'s results in chunks of CHUNK, each record's new work code
    worked out, then None. If anything goes wrong it just ends: the caller reads the rest
    itself (and meets the same problem there, with its own traceback). No collection of
    cycles here: what the parent left for collection (a connection, with its finaliser
    that would close the socket the parent still uses) stays the parent's."""
    gc.disable()
    with sent:
        chunk: list[Parsed | Rejected] = []
        for item in read(data, library):
            if isinstance(item, Parsed):
                item.new_work_code  # noqa: B018 (worked out here: it travels in the pickle)
            chunk.append(item)
            if len(chunk) == CHUNK:
                sent.send(chunk)
                chunk = []
        sent.send(chunk)
        sent.send(None)


def _first(record: Record, tags: tuple[str, ...], code: str) -> str:
    for tag in tags:
        for field in record.get_fields(tag):
            for value in field.get_subfields(code):
                if value.strip():
                    return value.strip()
    return ""


def _control_number(record: Record) -> str:
    field = record.get("001")
    if field is not None and field.data and field.data.strip():
        return field.data.strip()
    return _first(record, ("999",), "c") or _first(record, ("035",), "a")


def _normalised(record: Record) -> None:
    """Every subfield NFC with its marks in order; the leader says UTF-8 from now on, and
    not the lengths of one serialisation (ISO 2709 and MARCXML of a record are one)."""
    for field in record.fields:
        if field.is_control_field():
            continue
        field.subfields = [Subfield(s.code, normalise(s.value)) for s in field.subfields]
    leader = str(record.leader)
    record.leader = Leader("00000" + leader[5:9] + "a" + leader[10:12] + "00000" + leader[17:])


def _title(record: Record) -> tuple[str, int]:
    for field in record.get_fields("245"):
        parts = [v for code in "abnp" for v in field.get_subfields(code)]
        text = _TRAILING.sub("", " ".join(p.strip() for p in parts if p.strip()))
        skip = int(field.indicator2) if (field.indicator2 or "").isdigit() else 0
        return text, skip
    return "", 0


def _title_proper(record: Record) -> str:
    """245 $a alone: the title without its subtitle and parts, as a work is registered."""
    for field in record.get_fields("245"):
        return _TRAILING.sub("", " ".join(v.strip() for v in field.get_subfields("a")))
    return ""


def _year(record: Record) -> str:
    fixed = record.get("008")
    if fixed is not None and fixed.data and fixed.data[7:11].isdigit():
        return fixed.data[7:11]
    for tag in ("264", "260"):
        for field in record.get_fields(tag):
            for value in field.get_subfields("c"):
                found = _YEAR.search(value)
                if found:
                    return found.group(1)
    return ""


def _items(record: Record, library: str) -> tuple[tuple[str, ...], str | None]:
    """The barcodes of the library's copies (952 $p, as Koha exports; 852 $p), under the
    library's code; or the reason they cannot be barcodes."""
    found: list[str] = []
    for field in [*record.get_fields("952"), *record.get_fields("852")]:
        for value in field.get_subfields("p"):
            barcode = f"{library}-{value.strip().upper()}"
            if not BARCODE.match(barcode):
                return (), f"item barcode {value!r} is not 1 to 50 letters, digits or dashes"
            if barcode not in found:
                found.append(barcode)
    return tuple(found), None


def _parse(position: int, record: Record | None, library: str) -> Parsed | Rejected:
    if record is None:
        return Rejected(position, None, f"record {position} could not be read")
    _normalised(record)
    local_id = _control_number(record)
    if not local_id:
        return Rejected(position, None, "no control number (001, 999 $c or 035 $a)")
    title, skip = _title(record)
    if not title:
        return Rejected(position, local_id, "no title (245 $a)")
    if len(title) > 500:
        return Rejected(position, local_id, "the title (245) is longer than 500 characters")
    creator = _TRAILING.sub("", _first(record, ("100", "110", "111", "700"), "a"))
    if not creator:
        creator = _TRAILING.sub("", _first(record, ("245",), "c"))
    isbns = tuple(
        dict.fromkeys(
            found
            for field in record.get_fields("020")
            for value in field.get_subfields("a")
            if (found := isbn13(value)) is not None
        )
    )
    originals = tuple(
        dict.fromkeys(
            text
            for field in record.get_fields("880")
            if (text := _TRAILING.sub("", " ".join(field.get_subfields("a", "b", "c"))).strip())
        )
    )
    items, problem = _items(record, library)
    if problem is not None:
        return Rejected(position, local_id, problem)
    fixed = record.get("008")
    language = fixed.data[35:38].strip() if fixed is not None and fixed.data else ""
    year = _year(record)
    marcxml = as_marcxml(record)
    return Parsed(
        position=position,
        local_id=local_id,
        description=Description(
            title=title,
            creator=creator[:500],
            year=year,
            isbns=isbns,
            originals=originals,
            language=language,
            items=items,
        ),
        title_key=title_key(fold(title[skip:]), fold(creator), year),
        marcxml=marcxml,
        fingerprint=hashlib.sha256(marcxml.encode()).hexdigest(),
        title_author_key=title_author_key(_title_proper(record)[skip:], creator),
    )
