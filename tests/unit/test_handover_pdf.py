"""The handover record's PDF: the same record gives the same bytes (in another process too),
the Vietnamese text is really in it, long lists run onto more pages, and bad input is
refused with InvalidInput."""

from __future__ import annotations

import dataclasses
import io
import os
import subprocess
import sys
import unicodedata
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from domain.errors import InvalidInput
from infra.handover_pdf import HandoverCopy, HandoverRecord, digest, render

ROOT = Path(__file__).resolve().parents[2]

# The digest of sample() as rendered by the pinned fpdf2 and font. If this changes, records
# already signed no longer render to the digest their events keep: an upgrade of fpdf2,
# fontTools or the font, or a change of layout, needs a decision (keep the old renderer for
# old records), not just a new number here.
GOLDEN = "sha256:f244ba285e18912b6d9f4b12545412280238a342bb4aa08dd587b4e0668560b0"

TITLES = (
    "Truyện Kiều",
    "Tắt đèn",
    "Số đỏ",
    "Dế Mèn phiêu lưu ký",
    "Những ngôi sao xa xôi — tuyển tập truyện ngắn, tái bản lần thứ mười hai có bổ sung",
)
NOTES = ("", "hư hỏng", "", "thiếu", "thừa")


def sample(count: int = 5, stage: str = "dispatch") -> HandoverRecord:
    copies = tuple(
        HandoverCopy(f"HNM{n:07d}", TITLES[n % len(TITLES)], NOTES[n % len(NOTES)])
        for n in range(1, count + 1)
    )
    return HandoverRecord(
        transfer_id="TR-2025-000123",
        stage=stage,
        at=datetime(2025, 3, 5, 2, 30, tzinfo=UTC),
        sender_code="HNM-TVT",
        sender_name="Thư viện tỉnh Hà Nam",
        receiver_code="HNM-CBH",
        receiver_name="Trường THPT Chuyên Biên Hòa",
        reason="rotation",
        due_date=date(2025, 6, 5),
        copies=copies,
        signed_by="thuthu.tvt",
    )


def text_of(pdf: bytes) -> tuple[int, str]:
    pypdf = pytest.importorskip("pypdf", reason="pypdf (the dev extras) reads the PDF's text")
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    text = "\n".join(page.extract_text() for page in reader.pages)
    return len(reader.pages), unicodedata.normalize("NFC", text)


def test_the_same_record_renders_to_the_same_bytes() -> None:
    first = render(sample())
    assert first.startswith(b"%PDF-")
    assert render(sample()) == first
    assert digest(first) == digest(render(sample()))


def test_another_process_in_another_zone_renders_the_same_digest() -> None:
    code = (
        "from infra.handover_pdf import digest, render\n"
        "from tests.unit.test_handover_pdf import sample\n"
        "print(digest(render(sample())))\n"
    )
    env = {**os.environ, "PYTHONHASHSEED": "4242", "TZ": "America/New_York"}
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == digest(render(sample()))


def test_the_renderer_still_gives_the_digest_signed_records_keep() -> None:
    assert digest(render(sample())) == GOLDEN


def test_the_same_instant_in_another_zone_gives_the_same_bytes() -> None:
    record = sample()
    hanoi = record.at.astimezone(timezone(timedelta(hours=7)))
    assert render(dataclasses.replace(record, at=hanoi)) == render(record)


def test_digest_names_its_algorithm() -> None:
    assert digest(b"") == (
        "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    )


def test_the_vietnamese_text_is_in_the_pdf() -> None:
    pages, text = text_of(render(sample()))
    assert pages == 1
    for expected in (
        "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
        "Độc lập - Tự do - Hạnh phúc",
        "BIÊN BẢN GIAO TÀI LIỆU",
        "TR-2025-000123",
        "ngày 05 tháng 03 năm 2025",  # 02:30 UTC is 09:30 in Vietnam
        "lúc 09:30",
        "Thư viện tỉnh Hà Nam",
        "HNM-TVT",
        "Trường THPT Chuyên Biên Hòa",
        "HNM-CBH",
        "Luân chuyển tài liệu",
        "05/06/2025",
        "HNM0000003",
        "Dế Mèn phiêu lưu ký",
        "hư hỏng",
        "Tổng cộng: 5 bản tài liệu",
        "ĐẠI DIỆN BÊN GIAO",
        "ĐẠI DIỆN BÊN NHẬN",
        "(Ký, ghi rõ họ tên)",
        "thuthu.tvt",
    ):
        assert expected in text, expected


def test_a_receipt_says_so() -> None:
    _, text = text_of(render(sample(stage="receipt")))
    assert "BIÊN BẢN NHẬN TÀI LIỆU" in text
    assert "Bên nhận đã nhận" in text


def test_a_record_without_a_due_date_prints_none() -> None:
    record = dataclasses.replace(sample(), reason="return_home", due_date=None)
    _, text = text_of(render(record))
    assert "Trả tài liệu về thư viện gốc" in text
    assert "Hạn trả" not in text


def test_text_typed_with_combining_marks_prints_like_the_precomposed() -> None:
    record = sample()
    decomposed = dataclasses.replace(
        record, sender_name=unicodedata.normalize("NFD", record.sender_name)
    )
    assert render(decomposed) == render(record)


def test_250_copies_run_onto_several_pages_with_every_barcode() -> None:
    pages, text = text_of(render(sample(250)))
    assert pages >= 4
    assert f"Trang 1/{pages}" in text
    assert all(f"HNM{n:07d}" in text for n in range(1, 251))
    assert text.count("Mã vạch") == pages  # the heading row on every page of the table
    assert "Tổng cộng: 250 bản tài liệu" in text


def test_changing_one_note_changes_the_digest() -> None:
    record = sample()
    copies = list(record.copies)
    copies[2] = dataclasses.replace(copies[2], note="hư hỏng")
    changed = dataclasses.replace(record, copies=tuple(copies))
    assert digest(render(changed)) != digest(render(record))


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        ({"stage": "shipped"}, "stage must be one of dispatch, receipt"),
        ({"reason": "gift"}, "reason must be one of"),
        ({"at": datetime(2025, 3, 5, 9, 30)}, "at must be a datetime with a time zone"),
        ({"copies": ()}, "at least one copy"),
        ({"transfer_id": " "}, "transfer_id must not be empty"),
        ({"sender_name": "Thư viện\nHà Nam"}, "sender_name must be one line"),
        ({"copies": (HandoverCopy("", "Số đỏ"),)}, "the barcode of copy 1 must not be empty"),
        ({"copies": (HandoverCopy("B1", "a"), HandoverCopy("B1", "b"))}, "listed twice"),
        ({"copies": (HandoverCopy("B1", "红楼梦"),)}, "the title of copy 1 holds '红'"),
    ],
)
def test_bad_input_is_refused_clearly(change: dict[str, object], complaint: str) -> None:
    record = dataclasses.replace(sample(), **change)  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match=complaint):
        render(record)
