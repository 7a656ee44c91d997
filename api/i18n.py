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
