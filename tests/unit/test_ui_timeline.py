"""A request's timeline in words: every event type of a request has its sentence in
Vietnamese and English, and a sentence names what its event says."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from api.i18n import TEXT, iso_label
from api.ui_reasons import reason_text
from api.ui_timeline import SENTENCES, sentence, who
from domain.contract import event_types
from domain.ill_actions import ALL_ACTIONS
from domain.ill_request import IllRequest
from domain.ill_status import Status

REQUEST_EVENTS = sorted(t.event.__name__ for t in event_types() if t.aggregate is IllRequest)


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_every_request_event_has_a_sentence(lang: str) -> None:
    assert REQUEST_EVENTS and sorted(set(REQUEST_EVENTS) - set(SENTENCES[lang])) == []


def test_a_sentence_says_what_the_event_holds_in_either_language() -> None:
    data = {
        "supplier": "HNM-DT",
        "item_id": "HNM-DT-W-KIEU-1",
        "shipped_at": datetime(2026, 12, 1, 9, 30, tzinfo=UTC),
        "due_date": date(2026, 12, 29),
    }
    assert sentence("Loaned", data, "vi") == "HNM-DT gửi bản HNM-DT-W-KIEU-1; hạn trả 2026-12-29"
    assert sentence("Loaned", data, "en").startswith("HNM-DT sent copy HNM-DT-W-KIEU-1")
    refused = sentence("CancelAnswered", {"supplier": "HNM-DT", "accepted": False}, "vi")
    assert refused == "HNM-DT từ chối việc hủy"
    note = sentence("WillSupply", {"supplier": "HNM-DT", "note": "tuần sau"}, "vi")
    assert note == "HNM-DT sẽ cung cấp: tuần sau"
    assert sentence("SentToSupplier", {}, "en") == "Sent to —; answer due —"  # nothing fails
    stored = {"supplier": "HNM-DT", "answer_due": "2026-12-04T02:50:47.278908+00:00"}
    assert (
        sentence("SentToSupplier", stored, "vi") == "Gửi tới HNM-DT; hạn trả lời 2026-12-04 02:50"
    )
    librarian = {"account": "thuthu.dt", "role": "librarian", "library": "HNM-DT"}
    assert who(librarian, "vi") == "thuthu.dt (thủ thư, HNM-DT)"
    assert who({"account": "libshare-timers", "role": "system"}, "en") == (
        "libshare-timers (system)"
    )


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_every_status_and_action_has_a_label_in_words(lang: str) -> None:
    names = {s.value for s in Status} | set(ALL_ACTIONS)
    unlabelled = sorted(n for n in names if iso_label(n, lang) == n)
    assert unlabelled == []
    assert iso_label("RequestReceived", "en") == "With the supplier (RequestReceived)"


def test_reasons_are_in_vietnamese_on_vietnamese_pages() -> None:
    skipped = {"supplier": "HNM-DT", "reason": "AnswerTimedOut"}
    assert sentence("SupplierSkipped", skipped, "vi") == "Bỏ qua HNM-DT: quá hạn trả lời"
    assert sentence("SupplierSkipped", skipped, "en") == "HNM-DT skipped: AnswerTimedOut"
    exhausted = {"reasons": [{"library": "HNM-KB", "reason": "no available copy"}]}
    assert sentence("RotaExhausted", exhausted, "vi") == (
        "Không thư viện nào cung cấp được: HNM-KB (không có bản sẵn sàng)"
    )
    assert reason_text("same locality (Duy Tiên)", "vi") == "cùng địa bàn (Duy Tiên)"
    assert reason_text("by load (3 active loans)", "vi") == "theo mức tải (3 lượt đang mượn)"
    assert reason_text("something new", "vi") == "something new"  # shown as it is


def test_every_ui_text_is_in_both_languages() -> None:
    assert sorted(set(TEXT["vi"]) ^ set(TEXT["en"])) == []
    assert [k for k, v in TEXT["vi"].items() if not v] == []
