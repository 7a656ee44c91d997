"""A request's timeline in words for the web UI (issue 21): each event a sentence, in
Vietnamese or English, with who acted (account, role, library) — no raw JSON."""

from __future__ import annotations

from contextlib import suppress
from datetime import date, datetime
from string import Formatter
from typing import Any

from api.ui_reasons import reason_text

SENTENCES: dict[str, dict[str, str]] = {
    "vi": {
        "Requested": "{requester} yêu cầu {work} cho bạn đọc {reader_ref}",
        "SentToSupplier": "Gửi tới {supplier}; hạn trả lời {answer_due}",
        "RotaExhausted": "Không thư viện nào cung cấp được: {reasons}",
        "SupplierSkipped": "Bỏ qua {supplier}{reason}",
        "ExpectsToSupply": "{supplier} dự kiến cung cấp{note}",
        "WillSupply": "{supplier} sẽ cung cấp{note}",
        "ConditionsProposed": "{supplier} đề nghị điều kiện: {conditions}",
        "ConditionsAccepted": "Bên yêu cầu chấp nhận điều kiện",
        "AnswerReminderSent": "Nhắc {library} trả lời; hạn mới {answer_due}",
        "Loaned": "{supplier} gửi bản {item_id}; hạn trả {due_date}",
        "CopyDelivered": "{supplier} đã chuyển bản sao{note}",
        "CancelRequested": "Bên yêu cầu xin hủy{reason}",
        "CancelAnswered": "{supplier} {accepted} việc hủy{reason}",
        "Cancelled": "Đã hủy{reason}",
        "ParcelDelivered": "Bưu điện đã giao kiện hàng; người ký nhận: {signer}",
        "Received": "Bên yêu cầu đã nhận tài liệu",
        "RenewRequested": "Bên yêu cầu xin gia hạn",
        "RenewAnswered": "{supplier} {accepted} gia hạn; hạn trả {due_date}",
        "Recalled": "{supplier} gọi trả sớm; trả trước {return_by}",
        "MarkedOverdue": "Quá hạn trả ({due_date})",
        "ReminderSent": "Đã nhắc trả tài liệu quá hạn",
        "ReturnShipped": "Bên yêu cầu đã gửi trả",
        "ShippedForward": "{supplier} chuyển tiếp tài liệu tới {to_library}",
        "ReturnHeld": "{library} đề nghị tạm giữ, chưa gửi trả{note}",
        "ReturnHoldReleased": "{supplier} hết tạm giữ: có thể gửi trả{note}",
        "LoanCompleted": "{supplier} đã nhận lại tài liệu; hoàn tất",
        "CompletedWithoutReturn": "Kết thúc mà không trả lại{reason}",
        "NoteAdded": "{library} ghi chú: {note}",
        "StatusRequested": "{by} hỏi tình trạng yêu cầu",
        "LibraryReplaced": "{old} nay là {new} ({why})",
        "ReaderForgotten": "Không còn lưu bạn đọc (lưu giữ lịch sử đọc {kept_days} ngày)",
    },
    "en": {
        "Requested": "{requester} asked for {work} for reader {reader_ref}",
        "SentToSupplier": "Sent to {supplier}; answer due {answer_due}",
        "RotaExhausted": "No library could supply it: {reasons}",
        "SupplierSkipped": "{supplier} skipped{reason}",
        "ExpectsToSupply": "{supplier} expects to supply{note}",
        "WillSupply": "{supplier} will supply{note}",
        "ConditionsProposed": "{supplier} proposed conditions: {conditions}",
        "ConditionsAccepted": "The requester accepted the conditions",
        "AnswerReminderSent": "{library} reminded to answer; now due {answer_due}",
        "Loaned": "{supplier} sent copy {item_id}; due back {due_date}",
        "CopyDelivered": "{supplier} delivered the copy{note}",
        "CancelRequested": "The requester asked to cancel{reason}",
        "CancelAnswered": "{supplier} {accepted} the cancellation{reason}",
        "Cancelled": "Cancelled{reason}",
        "ParcelDelivered": "The carrier delivered the parcel; signed for by {signer}",
        "Received": "The requester received the item",
        "RenewRequested": "The requester asked to renew",
        "RenewAnswered": "{supplier} {accepted} the renewal; due back {due_date}",
        "Recalled": "{supplier} recalled the item; return by {return_by}",
        "MarkedOverdue": "Overdue (due {due_date})",
        "ReminderSent": "Overdue reminder sent",
        "ReturnShipped": "The requester sent it back",
        "ShippedForward": "{supplier} passed the item on to {to_library}",
        "ReturnHeld": "{library} holds the return for now{note}",
        "ReturnHoldReleased": "{supplier} released the hold: it may go back{note}",
        "LoanCompleted": "{supplier} checked the item back in; complete",
        "CompletedWithoutReturn": "Completed without return{reason}",
        "NoteAdded": "{library} noted: {note}",
        "StatusRequested": "{by} asked for the status",
        "LibraryReplaced": "{old} is now {new} ({why})",
        "ReaderForgotten": "The reader is no longer kept (reading history: {kept_days} days)",
    },
}
ACCEPTED = {"vi": ("đồng ý", "từ chối"), "en": ("accepted", "refused")}
OPTIONAL = ("note", "reason")  # shown after a colon when given
ROLES = {
    "vi": {
        "librarian": "thủ thư",
        "library_admin": "quản trị thư viện",
        "network_admin": "quản trị mạng lưới",
        "postal_partner": "đối tác bưu chính",
        "system": "hệ thống",
    },
    "en": {},
}


def _shown(value: Any) -> str:
    if isinstance(value, str) and len(value) > 10 and value[10:11] == "T":
        with suppress(ValueError):  # a time as the event's JSON holds it
            value = datetime.fromisoformat(value)
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list):
        return "; ".join(_shown(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(str(v) for v in value.values() if v not in (None, ""))
    return "—" if value in (None, "") else str(value)


def sentence(
    event: str, data: dict[str, Any], lang: str, sentences: dict[str, dict[str, str]] = SENTENCES
) -> str:
    """What happened, in words (a request's events, or those of `sentences`); an event
    without a sentence is named as it is."""
    template = sentences[lang].get(event)
    if template is None:
        return event
    words = {k: _shown(v) for k, v in data.items()}
    if "reasons" in data:  # the rota exhausted: each library with its reason
        words["reasons"] = "; ".join(
            f"{r.get('library') or '—'} ({reason_text(str(r.get('reason', '')), lang)})"
            for r in data["reasons"]
        )
    for name in OPTIONAL:
        given = data.get(name)
        words[name] = f": {reason_text(str(given), lang)}" if given else ""
    yes, no = ACCEPTED[lang]
    words["accepted"] = yes if data.get("accepted") else no
    for _, field, _, _ in Formatter().parse(template):
        if field and field not in words:
            words[field] = "—"
    return template.format_map(words)


def who(actor: dict[str, Any] | None, lang: str) -> str:
    """Who acted: the account, its role, its library (or partner)."""
    if not actor:
        return "—"
    role = str(actor.get("role", ""))
    parts = [ROLES[lang].get(role, role.replace("_", " "))]
    parts += [str(actor[k]) for k in ("library", "partner") if actor.get(k)]
    return f"{actor.get('account', '?')} ({', '.join(p for p in parts if p)})"
