"""`libshare demo reorganise`: the 2025 reorganisation, on the demo network, through the
one entry's commands (as DEMO_LOADER). Since 1 July 2025 Hà Nam is part of Ninh Bình
(Nghị quyết 202/2025/QH15 of 12 June 2025) and there is no district level: the demo puts
every Hà Nam library in the province of Ninh Bình and the Hà Nam provincial library under
Ninh Bình's (registered if need be), and merges the Thanh Liêm district library into
Phủ Lý's. The district merge's act is illustrative (its number says so); the province's
is the real one. Idempotent: a second run records nothing."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

from domain.access import DEMO_LOADER
from domain.legal_act import LegalAct
from services.commands import MergeLibrary, RegisterLibrary, ReparentLibrary

if TYPE_CHECKING:
    from composition.bootstrap import System

PROVINCE_ACT = LegalAct("Nghị quyết 202/2025/QH15", date(2025, 6, 12), date(2025, 7, 1))
DISTRICT_ACT = LegalAct(
    "Quyết định 01/2025/QĐ-DEMO (minh họa)", date(2025, 6, 30), date(2025, 7, 1)
)
NINH_BINH = RegisterLibrary("NBH-TVT", "Thư viện tỉnh Ninh Bình", "provincial", "Ninh Bình")
MERGED, INTO = "HNM-TL", "HNM-PL"
BEFORE, AFTER = date(2025, 6, 30), date(2025, 7, 1)


def reorganise_demo(system: System, codes: list[str]) -> dict[str, Any]:
    """Run the demo reorganisation on the libraries `codes` (the demo's); return what it
    moved."""
    act = system.entry.act
    act(DEMO_LOADER, NINH_BINH)
    act(DEMO_LOADER, ReparentLibrary(NINH_BINH.code, None, "Ninh Bình", PROVINCE_ACT))
    for code in codes:
        lib = system.catalogue.current_library(code)
        if lib.merged_into is None:
            parent = NINH_BINH.code if lib.kind.value == "provincial" else lib.parent
            act(DEMO_LOADER, ReparentLibrary(code, parent, "Ninh Bình", PROVINCE_ACT))
    reason = "Sắp xếp đơn vị hành chính, không tổ chức cấp huyện (2025)"
    return act(DEMO_LOADER, MergeLibrary(MERGED, INTO, reason, DISTRICT_ACT))


def registry_lines(system: System, codes: list[str], day: date) -> list[str]:
    """The libraries as they were on `day` (from the write side: no read model needed)."""
    lines = []
    for code in codes:
        s = system.catalogue.current_library(code).as_of(day)
        status = f"sáp nhập vào {s['merged_into']}" if s["merged_into"] else "hoạt động"
        lines.append(
            f"  {s['code']:<10} {s['name']:<40} tỉnh: {s['province'] or '—':<10} "
            f"trên: {s['parent'] or '—':<8} {status}"
        )
    return lines
