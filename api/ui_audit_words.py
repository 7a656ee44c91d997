"""The auditors' pages in words (issue 21, item 6): a copy's events as sentences (a
request's are api/ui_timeline.py's), and why an event was written — the message that
caused it (an HTTP request, a carrier's update, a command) — in Vietnamese or English."""

from __future__ import annotations

from typing import Any

from api.ui_timeline import sentence

COPY_SENTENCES: dict[str, dict[str, str]] = {
    "vi": {
        "Registered": "Đăng ký bản {barcode} của tài liệu {work}, thuộc {owner}",
        "LentOnIll": "Cho {requester} mượn liên thư viện",
        "LoanForwarded": "Chuyển tiếp tới {requester}",
        "IllLoanEnded": "Kết thúc lượt mượn liên thư viện; bản ở {holder}",
        "CheckedOut": "{holder} cho bạn đọc {reader_ref} mượn",
        "CheckedIn": "Đã nhận lại tại {at_library}",
        "CheckedInAtWrongLibrary": "Nhận tại {at_library} thay vì {expected} (khi đang {was})",
        "TransferQueued": "Xếp vào đợt điều chuyển từ {sender} tới {receiver}",
        "TransferLeft": "Rời đợt điều chuyển{reason}",
        "Picked": "Đã lấy ra để điều chuyển",
        "Dispatched": "Đã gửi đi tới {receiver}",
        "ReceivedOnTransfer": "{holder} đã nhận bản điều chuyển",
        "MissingInTransit": "Thất lạc khi vận chuyển",
        "LostOnLoan": "Mất khi cho mượn{reason}",
        "Found": "Tìm thấy tại {at_library}",
        "Withdrawn": "Thanh lý{reason}",
        "SetAside": "Dành cho một lượt mượn số",
        "SetAsideEnded": "Hết dành cho lượt mượn số",
        "Recatalogued": "Chuyển từ tác phẩm {previous} sang {work} ({reason})",
        "LibraryReplaced": "{old} nay là {new} ({why})",
    },
    "en": {
        "Registered": "Copy {barcode} of {work} registered, owned by {owner}",
        "LentOnIll": "Lent to {requester} on interlibrary loan",
        "LoanForwarded": "Passed on to {requester}",
        "IllLoanEnded": "Interlibrary loan ended; the copy is at {holder}",
        "CheckedOut": "{holder} lent it to reader {reader_ref}",
        "CheckedIn": "Checked in at {at_library}",
        "CheckedInAtWrongLibrary": "Checked in at {at_library} instead of {expected} (was {was})",
        "TransferQueued": "Queued for a transfer from {sender} to {receiver}",
        "TransferLeft": "Left the transfer{reason}",
        "Picked": "Picked for a transfer",
        "Dispatched": "Sent to {receiver}",
        "ReceivedOnTransfer": "{holder} received it on a transfer",
        "MissingInTransit": "Missing in transit",
        "LostOnLoan": "Lost on loan{reason}",
        "Found": "Found at {at_library}",
        "Withdrawn": "Withdrawn{reason}",
        "SetAside": "Set aside for a digital loan",
        "SetAsideEnded": "No longer set aside for a digital loan",
        "Recatalogued": "Moved from work {previous} to {work} ({reason})",
        "LibraryReplaced": "{old} is now {new} ({why})",
    },
}
SHIPMENT_SENTENCES: dict[str, dict[str, str]] = {
    "vi": {
        "Dispatched": (
            "{sender} gửi {partner} vận đơn {waybill} tới {recipient}; cước {declared_postage}"
        ),
        "CarrierEventRecorded": "{status} lúc {at} {facility}",
        "LibraryReplaced": "{old} nay là {new} ({why})",
        "RequestAdded": "Cùng kiện có tài liệu của yêu cầu {request_id}",
    },
    "en": {
        "Dispatched": (
            "{sender} sent waybill {waybill} by {partner} to {recipient}; "
            "postage {declared_postage}"
        ),
        "CarrierEventRecorded": "{status} at {at} {facility}",
        "LibraryReplaced": "{old} is now {new} ({why})",
        "RequestAdded": "The same parcel carries request {request_id}'s item",
    },
}
CAUSES = {
    "vi": {
        "http": "yêu cầu HTTP {id}",
        "carrier": "cập nhật của hãng vận chuyển {partner} ({id})",
        "command": "lệnh {id} (dòng lệnh, bộ hẹn giờ hoặc nạp dữ liệu)",
        "event": "sự kiện #{n} ở trên",
        "none": "không ghi (sự kiện cũ)",
    },
    "en": {
        "http": "HTTP request {id}",
        "carrier": "carrier update from {partner} ({id})",
        "command": "command {id} (the CLI, the timers or a data load)",
        "event": "event #{n} above",
        "none": "not recorded (an older event)",
    },
}


def copy_sentence(event: str, data: dict[str, Any], lang: str) -> str:
    return sentence(event, data, lang, COPY_SENTENCES)


def shipment_sentence(event: str, data: dict[str, Any], lang: str) -> str:
    return sentence(event, data, lang, SHIPMENT_SENTENCES)


def cause_text(causation_id: str | None, lang: str, numbers: dict[str, int]) -> str:
    """The message that caused an event, in words: `numbers` are the event ids of the
    story's own rows (an event caused by one of them is told as that row)."""
    words = CAUSES[lang]
    if not causation_id:
        return words["none"]
    if causation_id in numbers:
        return words["event"].format(n=numbers[causation_id])
    kind, _, rest = causation_id.partition(":")
    if kind == "http":
        return words["http"].format(id=rest)
    if kind == "carrier":
        partner, _, message = rest.partition(":")
        return words["carrier"].format(partner=partner, id=message)
    if kind == "command":
        return words["command"].format(id=rest[:12])
    return causation_id


AGGREGATES = {
    "vi": {
        "ill-request": "yêu cầu mượn",
        "copy": "bản tài liệu",
        "shipment": "lô hàng gửi",
        "transfer": "đợt điều chuyển",
        "rotation": "tủ sách luân chuyển",
        "reader": "thẻ bạn đọc",
        "digital_pool": "kho tài liệu số",
        "digital_access": "lượt đọc số",
        "digital_shelf": "giá sách số",
        "library": "thư viện",
        "account": "tài khoản",
        "holding": "vốn tài liệu",
        "work": "tài liệu",
        "postal-partner": "đối tác bưu chính",
    },
    "en": {
        "ill-request": "request",
        "copy": "copy",
        "shipment": "shipment",
        "transfer": "transfer",
        "rotation": "rotating collection",
        "reader": "reader's card",
        "digital_pool": "digital pool",
        "digital_access": "digital access",
        "digital_shelf": "digital shelf",
        "library": "library",
        "account": "account",
        "holding": "holding",
        "work": "work",
        "postal-partner": "postal partner",
    },
}


def aggregate_name(kind: str, lang: str) -> str:
    return AGGREGATES[lang].get(kind, kind)
