"""UI text of the transfer and rotation pages (merged into api.i18n.TEXT): Vietnamese
first, English beside it, the same keys in both."""

from __future__ import annotations

VI = {
    "transfers": "Điều chuyển tài liệu",
    "transfers_all": "Tất cả phiếu điều chuyển",
    "transfer": "Phiếu điều chuyển",
    "transfer_reason": "Lý do",
    "copies": "Bản",
    "direction_incoming": "Chuyển đến",
    "direction_outgoing": "Chuyển đi",
    "needs_my_approval": "chờ tôi duyệt",
    "no_transfers": "Chưa có phiếu điều chuyển nào.",
    "new_transfer": "Điều chuyển mới",
    "copies_scanned": "Mã vạch các bản (mỗi dòng một mã)",
    "propose_transfer": "Đề nghị điều chuyển",
    "waiting_for": "chờ",
    "copy_barcode": "Mã vạch bản",
    "by_post_required": "Gửi qua bưu chính",
    "copies_damaged": "Bản hư hỏng (mã vạch, rồi mô tả)",
    "copies_extra": "Bản thừa, không có trong phiếu",
    "copy_lines": "Các bản trong phiếu",
    "handover_dispatch": "Biên bản bàn giao khi gửi (PDF)",
    "handover_receipt": "Biên bản giao nhận khi nhận (PDF)",
    "transfer_needs_copies": "Hãy quét hoặc nhập ít nhất một mã vạch",
    "transfer_not_found": "Không tìm thấy phiếu điều chuyển này",
    "bad_day": "Ngày không hợp lệ",
    "transfer_proposed": "Đã đề nghị điều chuyển",
    "rotations": "Luân chuyển tài liệu",
    "rotations_all": "Tất cả thùng luân chuyển",
    "rotation": "Thùng luân chuyển",
    "home_library": "Thư viện chủ quản",
    "box_at": "Thùng đang ở",
    "overdue": "quá hạn",
    "no_rotations": "Chưa có thùng luân chuyển nào.",
    "new_rotation": "Lập thùng luân chuyển",
    "rotation_name": "Tên thùng",
    "rotation_stages": "Các điểm dừng (mã thư viện và số ngày, mỗi dòng một điểm)",
    "rotation_stages_hint": "Mã thư viện, ví dụ",
    "rotation_cyclical": "Quay vòng liên tục",
    "plan_rotation": "Lập kế hoạch luân chuyển",
    "rotation_stays": "Các lần lưu lại",
    "arrived_on": "Đến ngày",
    "left_on": "Rời ngày",
    "rotation_planned": "Đã lập thùng luân chuyển",
    "rotation_bad_stages": "Mỗi điểm dừng là một mã thư viện và số ngày, ví dụ: HNM-S-ADT 30",
    "rotation_not_found": "Không tìm thấy thùng luân chuyển này",
}
EN = {
    "transfers": "Stock transfers",
    "transfers_all": "All transfers",
    "transfer": "Transfer",
    "transfer_reason": "Reason",
    "copies": "Copies",
    "direction_incoming": "Incoming",
    "direction_outgoing": "Outgoing",
    "needs_my_approval": "waiting for my approval",
    "no_transfers": "No transfers yet.",
    "new_transfer": "New transfer",
    "copies_scanned": "The copies' barcodes (one per line)",
    "propose_transfer": "Propose the transfer",
    "waiting_for": "waiting for",
    "copy_barcode": "Copy barcode",
    "by_post_required": "Send by post",
    "copies_damaged": "Damaged copies (barcode, then what is wrong)",
    "copies_extra": "Extra copies, not on the list",
    "copy_lines": "The copies on the transfer",
    "handover_dispatch": "Handover record of the dispatch (PDF)",
    "handover_receipt": "Record of the receipt (PDF)",
    "transfer_needs_copies": "Scan or type at least one barcode",
    "transfer_not_found": "No such transfer",
    "bad_day": "Not a valid date",
    "transfer_proposed": "Transfer proposed",
    "rotations": "Rotating collections",
    "rotations_all": "All rotation boxes",
    "rotation": "Rotation box",
    "home_library": "Home library",
    "box_at": "The box is at",
    "overdue": "overdue",
    "no_rotations": "No rotation boxes yet.",
    "new_rotation": "Plan a rotation box",
    "rotation_name": "Box name",
    "rotation_stages": "Stages (a library code and days, one per line)",
    "rotation_stages_hint": "Library codes, e.g.",
    "rotation_cyclical": "Keeps going round",
    "plan_rotation": "Plan the rotation",
    "rotation_stays": "Stays",
    "arrived_on": "Arrived",
    "left_on": "Left",
    "rotation_planned": "Rotation planned",
    "rotation_bad_stages": "Each stage is a library code and a number of days, e.g. HNM-S-ADT 30",
    "rotation_not_found": "No such rotation box",
}
REASONS: dict[str, tuple[str, ...]] = {
    "manual": ("Điều chuyển hẳn", "Permanent move"),
    "rotation": ("Luân chuyển", "Rotation"),
    "deposit": ("Gửi tạm (có hạn)", "Deposit (until a date)"),
    "return_home": ("Trả về thư viện chủ quản", "Return home"),
    "recall": ("Thu hồi", "Recall"),
    "reorganisation": ("Sắp xếp lại mạng lưới", "Reorganisation"),
}
TRANSFER_STATUS: dict[str, tuple[str, ...]] = {
    "proposed": ("Chờ duyệt", "Proposed"),
    "approved": ("Đã duyệt, đang chuẩn bị", "Approved"),
    "in_transit": ("Đang vận chuyển", "In transit"),
    "closed": ("Đã hoàn tất", "Closed"),
    "cancelled": ("Đã hủy", "Cancelled"),
    "rejected": ("Bị từ chối", "Rejected"),
}
LINE_STATE: dict[str, tuple[str, ...]] = {
    "listed": ("Trong phiếu", "Listed"),
    "picked": ("Đã lấy ra", "Picked"),
    "dropped": ("Đã bỏ khỏi phiếu", "Dropped"),
    "sent": ("Đã gửi", "Sent"),
    "received": ("Đã nhận", "Received"),
    "damaged": ("Nhận, bị hư hỏng", "Received damaged"),
    "extra": ("Bản thừa", "Extra"),
    "missing": ("Thất lạc", "Missing"),
    "elsewhere": ("Ở thư viện khác", "Elsewhere"),
    "found": ("Đã tìm thấy", "Found"),
}
STEPS: dict[str, tuple[str, ...]] = {
    "approve": ("Duyệt", "Approve", "Đã duyệt", "Approved"),
    "reject": ("Từ chối", "Reject", "Đã từ chối", "Rejected"),
    "cancel": ("Hủy phiếu", "Cancel", "Đã hủy", "Cancelled"),
    "pick": ("Lấy bản ra khỏi giá", "Pick copies", "Đã lấy bản", "Copies picked"),
    "drop": ("Bỏ một bản khỏi phiếu", "Drop a copy", "Đã bỏ bản", "Copy dropped"),
    "dispatch": ("Gửi đi", "Dispatch", "Đã gửi đi", "Dispatched"),
    "receive": ("Nhận các bản", "Receive copies", "Đã nhận", "Received"),
    "close": ("Hoàn tất phiếu", "Close", "Đã hoàn tất", "Closed"),
    "found": ("Đã tìm thấy bản thất lạc", "A missing copy is found", "Đã ghi nhận", "Recorded"),
}
EVENTS: dict[str, tuple[str, ...]] = {
    "Proposed": ("Đề nghị điều chuyển", "Proposed"),
    "Approved": ("Một bên đã duyệt", "Approved by a party"),
    "Rejected": ("Bị từ chối", "Rejected"),
    "Cancelled": ("Đã hủy", "Cancelled"),
    "CopiesPicked": ("Đã lấy bản ra khỏi giá", "Copies picked"),
    "CopyDropped": ("Một bản bị bỏ khỏi phiếu", "A copy dropped"),
    "Dispatched": ("Đã gửi đi", "Dispatched"),
    "ParcelDelivered": ("Bưu chính báo đã giao kiện", "The carrier delivered a parcel"),
    "CopiesReceived": ("Đã nhận các bản", "Copies received"),
    "Closed": ("Hoàn tất", "Closed"),
    "MissingCopyFound": ("Đã tìm thấy bản thất lạc", "A missing copy found"),
    "DueDateExtended": ("Gia hạn", "Due date extended"),
    "LibraryReplaced": ("Thư viện được thay (sắp xếp lại)", "A library replaced (reorganisation)"),
}
ROTATION_STATUS: dict[str, tuple[str, ...]] = {
    "planned": ("Đã lập, ở thư viện chủ quản", "Planned, at home"),
    "moving": ("Đang chuyển", "Moving"),
    "at_stage": ("Đang ở điểm dừng", "At a stage"),
    "completed": ("Đã về thư viện chủ quản", "Home again"),
}
ROTATION_STEPS: dict[str, tuple[str, ...]] = {
    "advance": ("Chuyển tiếp thùng", "Send the box on", "Đã tạo phiếu chuyển", "Box sent on"),
    "recall": ("Thu hồi thùng", "Recall the box", "Đã thu hồi", "Recalled"),
    "extend": ("Gia hạn lưu lại", "Extend the stay", "Đã gia hạn", "Extended"),
}


def _pairs(
    prefix: str, table: dict[str, tuple[str, ...]], first: int
) -> tuple[dict[str, str], dict[str, str]]:
    return (
        {f"{prefix}{k}": v[first] for k, v in table.items()},
        {f"{prefix}{k}": v[first + 1] for k, v in table.items()},
    )


STOCK: dict[str, dict[str, str]] = {"vi": dict(VI), "en": dict(EN)}
_TABLES: tuple[tuple[str, dict[str, tuple[str, ...]], int], ...] = (
    ("reason_", REASONS, 0),
    ("transfer_status_", TRANSFER_STATUS, 0),
    ("line_", LINE_STATE, 0),
    ("step_", STEPS, 0),
    ("transfer_", STEPS, 2),
    ("transfer_ev_", EVENTS, 0),
    ("rotation_status_", ROTATION_STATUS, 0),
    ("rotation_step_", ROTATION_STEPS, 0),
    ("rotation_", ROTATION_STEPS, 2),
)
for _prefix, _table, _first in _TABLES:
    _vi, _en = _pairs(_prefix, _table, _first)
    STOCK["vi"].update(_vi)
    STOCK["en"].update(_en)
