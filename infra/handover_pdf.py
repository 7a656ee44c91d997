"""The signed handover record of a stock transfer between libraries ("biên bản giao nhận tài
liệu") as PDF bytes: pure, and byte-for-byte the same for the same record, because the
transfer's event keeps the SHA-256 of the bytes and auditors render the record again from
the events and compare.

What makes it repeatable: the PDF's creation date is the record's own `at` (in Vietnam's
time, UTC+7, so the same instant gives the same bytes whatever zone it came in), the
producer and creator are fixed strings, fpdf2's file id is a hash of the content, its font
subsets carry a fixed tag and keep the font's own timestamp, and nothing reads the clock or
draws a random number. Text is NFC-normalised first, so a name typed with combining marks
prints (and hashes) like the precomposed one.

What the bytes also depend on: the version of fpdf2 (and of fontTools and zlib under it)
and the font file. `tests/unit/test_handover_pdf.py` holds a golden digest, so an upgrade
that changes the output fails there rather than silently breaking the auditors' check;
`RENDERER` names what rendered a record, for the caller to keep beside the digest.

Library: fpdf2, pure Python, embeds TrueType subsets and breaks tables across pages.
Font: Be Vietnam Pro 1.002 (SIL Open Font License 1.1, made for Vietnamese), from the
PyPI package `fontpkg-be-vietnam-pro` (a 1 MB wheel of font files), pinned in
pyproject.toml. A dependency rather than a system font, because a clean clone then needs
nothing installed by hand and every machine embeds the same file (Debian's
`fonts-dejavu-core` may be absent, or another version); rather than matplotlib's DejaVu
Sans, because matplotlib and numpy are tens of MB for one file; and not copied into the
repository. A character the font lacks is refused with `InvalidInput` rather than printed
as an empty box.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from functools import cache
from importlib import metadata, resources
from pathlib import Path
from typing import Any

from fpdf import FPDF, FontFace
from fpdf.enums import TableCellFillMode, XPos, YPos
from fpdf.fonts import TTFFont

from domain.errors import InvalidInput
from domain.text import LINE_PATTERN

STAGES = {"dispatch": "BIÊN BẢN GIAO TÀI LIỆU", "receipt": "BIÊN BẢN NHẬN TÀI LIỆU"}
REASONS = {
    "rotation": "Luân chuyển tài liệu",
    "manual": "Điều chuyển tài liệu theo yêu cầu",
    "return_home": "Trả tài liệu về thư viện gốc",
    "deposit": "Gửi tài liệu có thời hạn",
    "recall": "Thu hồi tài liệu trước hạn",
    "reorganisation": "Sắp xếp lại tổ chức thư viện",
}
VIETNAM = timezone(timedelta(hours=7), "ICT")  # no daylight saving: a fixed offset is exact
PRODUCER = "libshare handover_pdf 1"
FONT_PACKAGE = "fontpkg_be_vietnam_pro"
FONT_FILES = {
    "": "BeVietnamPro-Regular.ttf",
    "B": "BeVietnamPro-Bold.ttf",
    "I": "BeVietnamPro-Italic.ttf",
}
FAMILY = "bevietnampro"

_LINE = re.compile(LINE_PATTERN)
_MARGIN_LEFT, _MARGIN_RIGHT, _MARGIN_TOP, _MARGIN_BOTTOM = 25.0, 15.0, 15.0, 18.0
_COLUMNS = (12.0, 36.0, 90.0, 32.0)  # STT, barcode, title, note: 170 mm, the text width


@dataclass(frozen=True)
class HandoverCopy:
    barcode: str
    title: str
    note: str = ""  # e.g. "hư hỏng" (damaged), "thiếu" (missing), "thừa" (extra)


@dataclass(frozen=True)
class HandoverRecord:
    transfer_id: str
    stage: str  # "dispatch" or "receipt"
    at: datetime  # tz-aware; the record's date and the PDF's creation date
    sender_code: str
    sender_name: str
    receiver_code: str
    receiver_name: str
    reason: str  # "rotation", "manual", "return_home" or "deposit"
    due_date: date | None  # for a deposit or a rotation: when the copies go back
    copies: tuple[HandoverCopy, ...]
    signed_by: str = ""  # the account that recorded it


def render(record: HandoverRecord) -> bytes:
    """The record as a PDF (A4, Vietnamese); the same record gives the same bytes."""
    record = _checked(record)
    pdf = _Document(record)
    pdf.add_page()
    _header(pdf, record)
    _parties(pdf, record)
    _copies(pdf, record.copies)
    _closing(pdf, record)
    return bytes(pdf.output())


def as_content(record: HandoverRecord) -> dict[str, Any]:
    """The record's content as JSON-friendly data, for the event that signs it: rendered
    again from this (from_content), it gives the same bytes, whatever changed since."""
    return {
        "transfer_id": record.transfer_id,
        "stage": record.stage,
        "at": record.at.isoformat(),
        "sender": [record.sender_code, record.sender_name],
        "receiver": [record.receiver_code, record.receiver_name],
        "reason": record.reason,
        "due_date": record.due_date.isoformat() if record.due_date else None,
        "copies": [[c.barcode, c.title, c.note] for c in record.copies],
        "signed_by": record.signed_by,
    }


def from_content(content: dict[str, Any]) -> HandoverRecord:
    due = content.get("due_date")
    return HandoverRecord(
        transfer_id=str(content["transfer_id"]),
        stage=str(content["stage"]),
        at=datetime.fromisoformat(str(content["at"])),
        sender_code=str(content["sender"][0]),
        sender_name=str(content["sender"][1]),
        receiver_code=str(content["receiver"][0]),
        receiver_name=str(content["receiver"][1]),
        reason=str(content["reason"]),
        due_date=date.fromisoformat(str(due)) if due else None,
        copies=tuple(HandoverCopy(str(b), str(t), str(n)) for b, t, n in content["copies"]),
        signed_by=str(content.get("signed_by", "")),
    )


def digest(pdf: bytes) -> str:
    """What the transfer's event keeps of a rendered record: "sha256:<hex>"."""
    return "sha256:" + hashlib.sha256(pdf).hexdigest()


def _renderer() -> str:
    versions = (f"{name} {metadata.version(name)}" for name in ("fpdf2", "fonttools"))
    return f"{PRODUCER}; {'; '.join(versions)}; Be Vietnam Pro 1.002"


RENDERER = _renderer()


class _Document(FPDF):
    """A4 in millimetres with the record's fonts, metadata and a numbered footer."""

    def __init__(self, record: HandoverRecord) -> None:
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self._footer_text = f"{STAGES[record.stage].capitalize()} {record.transfer_id}"
        self.set_margins(_MARGIN_LEFT, _MARGIN_TOP, _MARGIN_RIGHT)
        self.set_auto_page_break(auto=True, margin=_MARGIN_BOTTOM)
        for style, path in _font_paths().items():
            self.add_font(FAMILY, style=style, fname=path)
        self.set_font(FAMILY, size=11)
        self.set_creation_date(record.at.astimezone(VIETNAM))
        self.set_producer(PRODUCER)
        self.set_creator(PRODUCER)
        self.set_title(f"{STAGES[record.stage]} {record.transfer_id}")
        self.set_subject("Biên bản giao nhận tài liệu giữa các thư viện")
        self.set_lang("vi")
        self.alias_nb_pages()

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(FAMILY, size=8)
        text = f"{self._footer_text} — Trang {self.page_no()}/{{nb}}"
        self.cell(0, 5, text, align="C")


def _header(pdf: _Document, record: HandoverRecord) -> None:
    """The issuing library (the sender for a dispatch, the receiver for a receipt) on the
    left, the national motto on the right, then the title and the record's number."""
    top = pdf.get_y()
    issuer = record.sender_name if record.stage == "dispatch" else record.receiver_name
    pdf.set_font(FAMILY, "B", 10.5)
    pdf.multi_cell(70, 5.5, issuer.upper(), align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    _rule(pdf, _MARGIN_LEFT + 25, 20)
    left_bottom = pdf.get_y()

    right = _MARGIN_LEFT + 72
    pdf.set_xy(right, top)
    pdf.set_font(FAMILY, "B", 10.5)
    pdf.cell(98, 5.5, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", align="C")
    pdf.set_xy(right, top + 5.5)
    pdf.set_font(FAMILY, "B", 11.5)
    pdf.cell(98, 6, "Độc lập - Tự do - Hạnh phúc", align="C")
    pdf.set_y(top + 11.5)
    _rule(pdf, right + 24, 50)
    pdf.set_xy(right, pdf.get_y() + 2)
    pdf.set_font(FAMILY, "I", 10.5)
    pdf.cell(98, 6, _long_date(record.at), align="C")

    pdf.set_y(max(left_bottom, pdf.get_y() + 6) + 8)
    pdf.set_font(FAMILY, "B", 15)
    pdf.cell(0, 8, STAGES[record.stage], align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(FAMILY, "", 10.5)
    pdf.cell(0, 6, f"Số: {record.transfer_id}", align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(4)


def _parties(pdf: _Document, record: HandoverRecord) -> None:
    at = record.at.astimezone(VIETNAM)
    pdf.set_font(FAMILY, "", 11)
    _paragraph(pdf, f"Hôm nay, lúc {at:%H:%M} {_long_date(at)}, chúng tôi gồm:")
    pdf.ln(1)
    _labelled(pdf, "Bên giao: ", f"{record.sender_name} (mã thư viện: {record.sender_code})")
    _labelled(pdf, "Bên nhận: ", f"{record.receiver_name} (mã thư viện: {record.receiver_code})")
    _labelled(pdf, "Lý do: ", REASONS[record.reason])
    if record.due_date is not None:
        _labelled(pdf, "Hạn trả tài liệu: ", f"{record.due_date:%d/%m/%Y}")
    pdf.ln(1)
    if record.stage == "dispatch":
        lead = "Bên giao đã giao cho Bên nhận các tài liệu sau:"
    else:
        lead = "Bên nhận đã nhận của Bên giao các tài liệu sau:"
    _paragraph(pdf, lead)
    pdf.ln(2)


def _copies(pdf: _Document, copies: tuple[HandoverCopy, ...]) -> None:
    """The numbered table; its heading row is repeated on every page it runs onto."""
    pdf.set_font(FAMILY, "", 9.5)
    headings = FontFace(emphasis="BOLD", fill_color=(225, 225, 225))
    with pdf.table(
        col_widths=_COLUMNS,
        width=sum(_COLUMNS),
        text_align=("CENTER", "LEFT", "LEFT", "LEFT"),
        headings_style=headings,
        cell_fill_mode=TableCellFillMode.NONE,
        line_height=5,
        padding=(1, 1.5),
        repeat_headings=1,
    ) as table:
        table.row(("STT", "Mã vạch", "Nhan đề", "Ghi chú"))
        for number, copy in enumerate(copies, start=1):
            table.row((str(number), copy.barcode, copy.title, copy.note))
    pdf.ln(3)
    noted = sum(1 for copy in copies if copy.note)
    pdf.set_font(FAMILY, "B", 11)
    total = f"Tổng cộng: {len(copies)} bản tài liệu"
    total += f" (trong đó {noted} bản có ghi chú)." if noted else "."
    _paragraph(pdf, total)


def _closing(pdf: _Document, record: HandoverRecord) -> None:
    """The closing sentence and the two signature blocks, kept together on one page."""
    pdf.set_font(FAMILY, "", 11)
    _paragraph(pdf, "Biên bản được lập thành 02 bản, mỗi bên giữ 01 bản có giá trị như nhau.")
    if record.signed_by:
        pdf.set_font(FAMILY, "I", 10)
        _paragraph(pdf, f"Người ghi nhận trên hệ thống: {record.signed_by}")
    if pdf.will_page_break(45):
        pdf.add_page()
    pdf.ln(6)
    top = pdf.get_y()
    half = (pdf.w - _MARGIN_LEFT - _MARGIN_RIGHT) / 2
    for column, party in enumerate(("ĐẠI DIỆN BÊN GIAO", "ĐẠI DIỆN BÊN NHẬN")):
        pdf.set_xy(_MARGIN_LEFT + column * half, top)
        pdf.set_font(FAMILY, "B", 11)
        pdf.cell(half, 6, party, align="C")
        pdf.set_xy(_MARGIN_LEFT + column * half, top + 6)
        pdf.set_font(FAMILY, "I", 10)
        pdf.cell(half, 5, "(Ký, ghi rõ họ tên)", align="C")


def _paragraph(pdf: _Document, text: str) -> None:
    pdf.multi_cell(0, 6, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def _labelled(pdf: _Document, label: str, text: str) -> None:
    """One line of the parties' block: a bold label, then its value (wrapped if long)."""
    pdf.set_font(FAMILY, "B", 11)
    width = pdf.get_string_width(label) + 1
    pdf.cell(width, 6, label)
    pdf.set_font(FAMILY, "", 11)
    pdf.multi_cell(0, 6, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def _rule(pdf: _Document, x: float, width: float) -> None:
    y = pdf.get_y() + 0.5
    pdf.set_line_width(0.3)
    pdf.line(x, y, x + width, y)
    pdf.set_y(y + 0.5)


def _long_date(at: datetime | date) -> str:
    if isinstance(at, datetime):
        at = at.astimezone(VIETNAM).date()
    return f"ngày {at:%d} tháng {at:%m} năm {at:%Y}"


def font_paths() -> dict[str, Path]:
    """The font's files by style ("", "B", "I"): the web UI serves the same font."""
    return dict(_font_paths())


@cache
def _font_paths() -> dict[str, Path]:
    try:
        folder = resources.files(FONT_PACKAGE) / "files"
    except ModuleNotFoundError as error:  # pragma: no cover - an installation error
        raise RuntimeError(
            f"the handover record's font package is not installed ({FONT_PACKAGE}); "
            "reinstall libshare: pip install -e ."
        ) from error
    return {style: Path(str(folder / name)) for style, name in FONT_FILES.items()}


@cache
def _printable() -> frozenset[int]:
    """The code points all three faces of the font can draw."""
    pdf = FPDF()
    faces = []
    for style, path in _font_paths().items():
        pdf.add_font(FAMILY, style=style, fname=path)
        font = pdf.fonts[FAMILY + style]
        assert isinstance(font, TTFFont)
        faces.append(set(font.cmap))
    return frozenset(set.intersection(*faces))


def _checked(record: HandoverRecord) -> HandoverRecord:
    """The record with its text NFC-normalised, or InvalidInput naming what is wrong."""
    if record.stage not in STAGES:
        raise InvalidInput(f"stage must be one of {', '.join(STAGES)}, not {record.stage!r}")
    if record.reason not in REASONS:
        raise InvalidInput(f"reason must be one of {', '.join(REASONS)}, not {record.reason!r}")
    if not isinstance(record.at, datetime) or record.at.utcoffset() is None:
        raise InvalidInput("at must be a datetime with a time zone")
    if record.due_date is not None and (
        isinstance(record.due_date, datetime) or not isinstance(record.due_date, date)
    ):
        raise InvalidInput("due_date must be a date or None")
    if not record.copies:
        raise InvalidInput("a handover record lists at least one copy")
    copies = tuple(
        HandoverCopy(
            barcode=_text(copy.barcode, f"the barcode of copy {number}"),
            title=_text(copy.title, f"the title of copy {number}", required=False),
            note=_text(copy.note, f"the note of copy {number}", required=False),
        )
        for number, copy in enumerate(record.copies, start=1)
    )
    seen: set[str] = set()
    for copy in copies:
        if copy.barcode in seen:
            raise InvalidInput(f"barcode {copy.barcode} is listed twice")
        seen.add(copy.barcode)
    return HandoverRecord(
        transfer_id=_text(record.transfer_id, "transfer_id"),
        stage=record.stage,
        at=record.at,
        sender_code=_text(record.sender_code, "sender_code"),
        sender_name=_text(record.sender_name, "sender_name"),
        receiver_code=_text(record.receiver_code, "receiver_code"),
        receiver_name=_text(record.receiver_name, "receiver_name"),
        reason=record.reason,
        due_date=record.due_date,
        copies=copies,
        signed_by=_text(record.signed_by, "signed_by", required=False),
    )


def _text(value: str, what: str, required: bool = True) -> str:
    if not isinstance(value, str):
        raise InvalidInput(f"{what} must be text")
    value = unicodedata.normalize("NFC", value.strip())
    if required and not value:
        raise InvalidInput(f"{what} must not be empty")
    if not _LINE.match(value):
        raise InvalidInput(f"{what} must be one line without control characters")
    printable = _printable()
    for char in value:
        if ord(char) not in printable:
            raise InvalidInput(
                f"{what} holds {char!r} (U+{ord(char):04X}), which the record's font cannot print"
            )
    return value
