"""The reasons the network gives (routing's choices and exclusions, ISO 18626 reason
codes, the timers' outcomes), in Vietnamese for the web UI; English shows them as
recorded. A reason not listed here is shown as it is."""

from __future__ import annotations

import re

from domain.ill_status import (
    CANCEL_NOT_ANSWERED,
    DIGITAL_WAIT_ENDED,
    REASONS_UNFILLED,
    ROUTING_OUTCOMES,
    UNFILLED_NO_CANDIDATES,
)

CODES_VI: dict[str, str] = {
    "NotHeld": "không có tài liệu này",
    "NotOnShelf": "không có trên giá",
    "NonCirculating": "không cho mượn",
    "OnLoan": "đang cho mượn",
    "PolicyProblem": "trái chính sách",
    "Damaged": "tài liệu hư hỏng",
    "NotFoundAsCited": "không tìm thấy như mô tả",
    "Other": "lý do khác",
    "AnswerTimedOut": "quá hạn trả lời",
    "ConditionsDeclined": "điều kiện bị từ chối",
    "ConditionsNotAnswered": "điều kiện không được trả lời",
    DIGITAL_WAIT_ENDED: "hết thời gian chờ bản số",
    CANCEL_NOT_ANSWERED: "đề nghị hủy không được trả lời",
    UNFILLED_NO_CANDIDATES: "không thư viện nào có bản sẵn sàng",
    "NotAvailableForILL": "không cho mượn liên thư viện lúc này",
}
# Routing's words (domain/routing.py, services/requests.py): pattern -> Vietnamese.
PATTERNS_VI: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"^same locality \((.+)\)$"), r"cùng địa bàn (\1)"),
    (re.compile(r"^provincial library$"), "thư viện tỉnh"),
    (re.compile(r"^by load \((\d+) active loans\)$"), r"theo mức tải (\1 lượt đang mượn)"),
    (re.compile(r"^is the requester$"), "là thư viện yêu cầu"),
    (re.compile(r"^outside the work's visibility scope \((.+)\)$"), r"ngoài phạm vi xem (\1)"),
    (re.compile(r"^never shipped: digital access only$"), "không gửi đi: chỉ đọc bản số"),
    (re.compile(r"^no available copy$"), "không có bản sẵn sàng"),
    (re.compile(r"^its policy does not lend (.+)$"), r"chính sách không cho mượn loại \1"),
    (re.compile(r"^at its limit of (\d+) active loans$"), r"đã đạt giới hạn \1 lượt mượn"),
    (re.compile(r"^merged into (.+)$"), r"đã sáp nhập vào \1"),
    (re.compile(r"^a digital copy, delivered as a URL$"), "bản số, gửi bằng đường dẫn"),
    (re.compile(r"^a digital copy, from its waitlist$"), "bản số, theo danh sách chờ"),
]
assert CODES_VI.keys() >= REASONS_UNFILLED | ROUTING_OUTCOMES


def reason_text(reason: str, lang: str) -> str:
    """A reason in the page's language."""
    if lang != "vi" or not reason:
        return reason
    if reason in CODES_VI:
        return CODES_VI[reason]
    for pattern, words in PATTERNS_VI:
        if pattern.match(reason):
            return pattern.sub(words, reason)
    return reason
