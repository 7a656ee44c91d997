"""UI text: Vietnamese first, English available (?lang=en or Accept-Language)."""

from __future__ import annotations

from fastapi import Request

TEXT: dict[str, dict[str, str]] = {
    "vi": {
        "app": "Mạng lưới thư viện chia sẻ",
        "libraries": "Các thư viện trong mạng lưới",
        "code": "Mã",
        "name": "Tên thư viện",
        "kind": "Loại",
        "locality": "Địa bàn",
        "count": "Tổng số thư viện",
        "provincial": "Thư viện tỉnh",
        "district": "Thư viện huyện / thị xã / thành phố",
        "school": "Thư viện trường học",
        "armed_forces": "Thư viện lực lượng vũ trang",
        "other_lang": "English",
        "empty": "Chưa có thư viện nào.",
        "act_for": "Làm việc cho thư viện",
        "choose": "Chọn",
        "requests": "Yêu cầu mượn liên thư viện",
        "outgoing": "Yêu cầu đi (thư viện yêu cầu)",
        "incoming": "Yêu cầu đến (thư viện cung cấp)",
        "new_request": "Yêu cầu mới",
        "work": "Tài liệu",
        "reader": "Mã bạn đọc",
        "service": "Hình thức",
        "Loan": "Mượn",
        "Copy": "Bản sao",
        "send": "Gửi yêu cầu",
        "status": "Trạng thái",
        "supplier": "Thư viện cung cấp",
        "requester": "Thư viện yêu cầu",
        "due": "Hạn trả",
        "updated": "Cập nhật",
        "none": "Không có yêu cầu nào.",
        "timeline": "Diễn biến",
        "actions": "Thao tác",
        "note": "Ghi chú",
        "item_id": "Mã vạch tài liệu",
        "reason": "Lý do",
        "back": "Quay lại danh sách",
        "rota": "Thứ tự hỏi mượn",
        "available": "Sẵn có",
        "error": "Không thực hiện được",
        "done": "Đã thực hiện",
        "libraries_link": "Các thư viện",
    },
    "en": {
        "app": "Library sharing network",
        "libraries": "Libraries of the network",
        "code": "Code",
        "name": "Library",
        "kind": "Kind",
        "locality": "Locality",
        "count": "Libraries in all",
        "provincial": "Provincial library",
        "district": "District (town, city) library",
        "school": "School library",
        "armed_forces": "Armed-forces library",
        "other_lang": "Tiếng Việt",
        "empty": "No libraries yet.",
        "act_for": "Working for library",
        "choose": "Choose",
        "requests": "Interlibrary loan requests",
        "outgoing": "Outgoing (we request)",
        "incoming": "Incoming (we supply)",
        "new_request": "New request",
        "work": "Work",
        "reader": "Reader card",
        "service": "Service",
        "Loan": "Loan",
        "Copy": "Copy",
        "send": "Send request",
        "status": "Status",
        "supplier": "Supplier",
        "requester": "Requester",
        "due": "Due",
        "updated": "Updated",
        "none": "No requests.",
        "timeline": "Timeline",
        "actions": "Actions",
        "note": "Note",
        "item_id": "Item barcode",
        "reason": "Reason",
        "back": "Back to the queues",
        "rota": "Rota",
        "available": "Available",
        "error": "Could not be done",
        "done": "Done",
        "libraries_link": "Libraries",
    },
}


def language(request: Request) -> str:
    asked = request.query_params.get("lang")
    if asked in TEXT:
        return asked
    accept = request.headers.get("accept-language", "")
    if accept.lower().startswith("en"):
        return "en"
    return "vi"


# ISO 18626 statuses and actions, in Vietnamese (the ISO name is shown beside them).
ISO_VI: dict[str, str] = {
    "RequestReceived": "Đã gửi tới thư viện cung cấp",
    "ExpectToSupply": "Dự kiến cung cấp",
    "WillSupply": "Sẽ cung cấp",
    "RetryPossible": "Cung cấp có điều kiện",
    "CancelPending": "Đang chờ trả lời hủy",
    "Loaned": "Đã gửi đi",
    "Received": "Đã nhận",
    "Overdue": "Quá hạn",
    "Recalled": "Bị thu hồi",
    "ShippedReturn": "Đã gửi trả",
    "ShippedForward": "Đã chuyển tiếp",
    "LoanCompleted": "Hoàn tất (đã trả)",
    "CopyCompleted": "Hoàn tất (bản sao)",
    "CompletedWithoutReturn": "Hoàn tất không trả (mất)",
    "Unfilled": "Không đáp ứng được",
    "Cancelled": "Đã hủy",
    "ExpectsToSupply": "Dự kiến cung cấp",
    "Requested": "Tạo yêu cầu",
    "SentToSupplier": "Gửi tới thư viện cung cấp",
    "SupplierSkipped": "Chuyển thư viện khác",
    "RotaExhausted": "Hết thư viện để hỏi",
    "ConditionsProposed": "Đề nghị điều kiện",
    "ConditionsAccepted": "Chấp nhận điều kiện",
    "CopyDelivered": "Đã gửi bản sao",
    "CancelRequested": "Đề nghị hủy",
    "CancelAnswered": "Trả lời đề nghị hủy",
    "RenewRequested": "Đề nghị gia hạn",
    "RenewAnswered": "Trả lời gia hạn",
    "MarkedOverdue": "Quá hạn",
    "ReminderSent": "Nhắc trả",
    "ReturnShipped": "Đã gửi trả",
    "NoteAdded": "Ghi chú",
    "StatusRequested": "Hỏi trạng thái",
    "AcceptConditions": "Chấp nhận điều kiện",
    "DeclineConditions": "Từ chối điều kiện",
    "Cancel": "Hủy yêu cầu",
    "Renew": "Xin gia hạn",
    "CancelResponse": "Trả lời đề nghị hủy",
    "RenewResponse": "Trả lời gia hạn",
    "Notification": "Gửi ghi chú",
    "StatusRequest": "Hỏi trạng thái",
}


def iso_label(name: str, lang: str) -> str:
    """A status, event or action name for the UI: Vietnamese with the ISO name, or ISO."""
    if lang == "vi" and name in ISO_VI:
        return f"{ISO_VI[name]} ({name})"
    return name
