"""Loads the demo network (composition/demo/demo-network.json, copied from ../shared)
through the one entry's commands, never SQL: so the demo's history is real events,
relayed and projected. The loader acts as DEMO_LOADER (domain/access.py)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import structlog

from composition.demo_pages import write_demo_pages
from domain.access import DEMO_LOADER
from domain.lending_policy import LendingPolicy
from infra.page_folder import FolderPages
from infra.settings import pages_dir
from services.commands import (
    IssueApiKey,
    OpenAccount,
    RecordRights,
    RegisterHolding,
    RegisterLibrary,
    RegisterPartner,
    RegisterWork,
    SetLendable,
    SetPolicy,
)

if TYPE_CHECKING:
    from composition.bootstrap import System

log = structlog.get_logger("libshare.demo")


def demo_network() -> dict[str, Any]:
    text = (Path(__file__).parent / "demo" / "demo-network.json").read_text("utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


# Demo lending policies: the provincial library also copies its Hán Nôm texts and maps
# (never shipped), and the armed-forces libraries lend their restricted works among
# themselves; everyone else keeps the default policy.
DEMO_POLICIES = {
    "provincial": LendingPolicy(lends_kinds=("book", "local_studies", "han_nom", "rare_map")),
    "armed_forces": LendingPolicy(lends_kinds=("book", "local_studies", "restricted")),
    "school": LendingPolicy(loan_days=21, max_active_loans=5, answer_timeout_hours=72),
}


# The demo agreement: the province pays the partner's percentage of each library's postage,
# up to this much per library per month (VND).
DEMO_MONTHLY_CAP = "500000"


def load_demo(system: System) -> int:
    """Register the demo libraries, their policies, works and holdings through commands.
    Idempotent: returns how many libraries were new."""
    act = system.entry.act
    data = demo_network()
    created = 0
    for lib in data["libraries"]:
        _, new = act(
            DEMO_LOADER, RegisterLibrary(lib["code"], lib["name"], lib["kind"], lib["locality"])
        )
        created += int(new)
        if lib["kind"] in DEMO_POLICIES:
            act(DEMO_LOADER, SetPolicy(lib["code"], DEMO_POLICIES[lib["kind"]]))
    for w in data["works"]:
        work = RegisterWork(
            code=w["id"],
            title=w["title"],
            kind=w["kind"],
            creator=w.get("creator", ""),
            language=w.get("language", "vi"),
            shipping=w.get("shipping", "allowed"),
            digital=bool(w.get("digital", False)),
            visible_to=tuple(w.get("visible_to", [])),
        )
        act(DEMO_LOADER, work)
    for h in data["holdings"]:
        holding = RegisterHolding(
            h["work"], h["library"], h["copies"], h.get("digital_lendable", 0)
        )
        act(DEMO_LOADER, holding)
    for partner in data["postal_partners"]:
        act(
            DEMO_LOADER,
            RegisterPartner(
                partner["code"], partner["name"], partner["subsidy_percent"], DEMO_MONTHLY_CAP
            ),
        )
    for r in data.get("digital_rights", []):
        rights = RecordRights(
            work=r["work"],
            basis=r["basis"],
            terms=r.get("terms", ""),
            concurrent_loans=r.get("concurrent_loans"),
            expires_on=date.fromisoformat(r["expires_on"]) if r.get("expires_on") else None,
            owner=r.get("owner", ""),
            consent=bool(r.get("consent", False)),
            scope=r.get("scope", "network"),
            library=r["library"],
        )
        act(DEMO_LOADER, rights)
        act(DEMO_LOADER, SetLendable(r["work"], r["lendable"], tuple(r.get("backing", []))))
    load_demo_pages(system)
    log.info("demo network loaded", libraries_registered=created)
    return created


def load_demo_pages(system: System) -> int:
    """Write the page images of the demo's digitised works into the system's pages folder
    (those it has not yet): they are files, not events. How many works were written."""
    titles = {w["id"]: w["title"] for w in demo_network()["works"] if w.get("digital")}
    return write_demo_pages(FolderPages(pages_dir(system.settings)), titles)


# Demo accounts, one per role (a password for people, an API key for the partner's
# system). For a demo only: a real network opens its accounts through /accounts.
DEMO_PASSWORD = "libshare-demo"
DEMO_ACCOUNTS: list[tuple[str, str, str | None, str | None, str]] = [
    # username, display name, library, partner, role
    ("thuthu.tvt", "Thủ thư Thư viện tỉnh", "HNM-TVT", None, "librarian"),
    ("thuthu.kb", "Thủ thư Thư viện Kim Bảng", "HNM-KB", None, "librarian"),
    ("thuthu.dt", "Thủ thư Thư viện Duy Tiên", "HNM-DT", None, "librarian"),
    ("thuthu.adt", "Thủ thư Trường THPT A Duy Tiên", "HNM-S-ADT", None, "librarian"),
    ("thuthu.ca", "Thủ thư Thư viện Công an tỉnh", "HNM-CA", None, "librarian"),
    ("quantri.tvt", "Quản trị Thư viện tỉnh", "HNM-TVT", None, "library_admin"),
    ("kiemtoan", "Kiểm toán viên", None, None, "auditor"),
    ("sovhtt", "Sở Văn hóa, Thể thao và Du lịch", None, None, "department"),
    ("quantri", "Quản trị mạng lưới", None, None, "network_admin"),
    ("vnpost", "Hệ thống Bưu điện tỉnh", None, "VNPOST", "postal_partner"),
]


def load_demo_accounts(system: System) -> str:
    """Open the demo accounts (idempotent); return how to sign in, for the console. The
    partner's API key is new each time it is issued and shown only here."""
    act = system.entry.act
    lines = [f"Demo accounts (password: {DEMO_PASSWORD}); sign in at / or POST /auth/token:"]
    for username, name, library, partner, role in DEMO_ACCOUNTS:
        people = partner is None
        opening = OpenAccount(
            username,
            name,
            library=library,
            partner=partner,
            roles=(role,),
            password=DEMO_PASSWORD if people else None,
        )
        _, created = act(DEMO_LOADER, opening)
        if people:
            lines.append(f"  {username:<12} {role:<14} {library or ''}")
        elif created:
            _, key = act(DEMO_LOADER, IssueApiKey(username, "demo routing system"))
            lines.append(f"  {username:<12} {role:<14} {partner}  API key (shown once): {key}")
    return "\n".join(lines)


def load_demo_on_first_start(system: System) -> str | None:
    """Load the demo network and its accounts only into an empty event store (a first
    start); return how to sign in, or None if the store was not empty."""
    if system.app.recorder.max_notification_id() is not None:
        return None
    load_demo(system)
    return load_demo_accounts(system)
