"""The authorisation matrix: every role on every endpoint of the route table, on a
resource of its own library (or partner) and on another's, allowed or denied. The table
below is written by hand from the issue's roles; an endpoint missing from it fails."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

import pytest
from fastapi.testclient import TestClient

from api.auth import UI_COOKIE, Authorize
from api.ui_guard import CSRF_COOKIE
from composition.demo_pages import write_demo_pages
from domain.access import DEMO_LOADER, Principal
from domain.account import Role
from domain.shipment import Shipment
from infra.page_folder import FolderPages
from infra.settings import pages_dir
from services.commands import (
    BorrowDigital,
    IssueViewerLink,
    PlaceDigitalHold,
    RecordRights,
    RegisterCopy,
    RegisterHolding,
    RegisterWork,
    SetLendable,
)
from tests.actors import TESTER
from tests.e2e.callers import Network, api_key_for, network_admin
from tests.integration.support import eventually

ROLES = (
    "anonymous",
    "librarian",
    "library_admin",
    "postal_partner",
    "auditor",
    "department",
    "network_admin",
)
OWN, OTHER = "own", "other"
ACT = {"act": "Nghị quyết 202/2025/QH15", "act_date": "2025-06-12", "effective": "2025-07-01"}
BOTH = frozenset({OWN, OTHER})
ONLY_OWN = frozenset({OWN})
PASSWORD = "mat-khau-ma-tran"


@dataclass(frozen=True)
class Case:
    """How to call an endpoint on the caller's own resource and on another's, and which
    roles it allows on which ({} for none; `public` for everyone, signed in or not)."""

    own: tuple[str, dict[str, Any]]  # url, httpx keyword arguments
    other: tuple[str, dict[str, Any]] | None
    allow: dict[str, frozenset[str]] = field(default_factory=dict)
    public: bool = False
    ui: bool = False  # the web UI: the credential goes in the session cookie


def same(url: str, **kw: Any) -> tuple[tuple[str, dict[str, Any]], None]:
    return (url, kw), None


def json(body: dict[str, Any]) -> dict[str, Any]:
    return {"json": body}


def matrix(w: dict[str, Any]) -> dict[str, Case]:
    """Every route: 'METHOD /path' -> its case. `w` names the world's resources."""
    own_req, other_req = w["own_request"], w["other_request"]
    staff = "/accounts/staff.kb", "/accounts/staff.dt"
    librarian_lib = {"librarian": BOTH, "library_admin": BOTH}
    admin = {"network_admin": BOTH}
    admins = {"network_admin": BOTH, "library_admin": ONLY_OWN}
    token_form = {"data": {"username": "t-password", "password": PASSWORD}}
    own_tr, other_tr = w["own_transfer"], w["other_transfer"]
    readers = {"auditor": BOTH, "department": BOTH, "network_admin": BOTH}

    def pair(own: str, other: str, **kw: Any) -> dict[str, Any]:
        return {"own": (own, kw), "other": (other, kw)}

    return {
        # -- public --------------------------------------------------------------------------
        "GET /openapi.json": Case(*same("/openapi.json"), public=True),
        "GET /docs": Case(*same("/docs"), public=True),
        "GET /docs/oauth2-redirect": Case(*same("/docs/oauth2-redirect"), public=True),
        "GET /redoc": Case(*same("/redoc"), public=True),
        "GET /problems/{slug}": Case(*same("/problems/forbidden"), public=True),
        "GET /health": Case(*same("/health"), public=True),
        "GET /metrics": Case(*same("/metrics"), public=True),
        "GET /libraries": Case(*same("/libraries"), public=True),
        "GET /libraries/{code}": Case(
            **pair("/libraries/HNM-KB", "/libraries/HNM-DT"), public=True
        ),
        "POST /auth/token": Case(*same("/auth/token", **token_form), public=True),
        "GET /": Case(*same("/"), public=True, ui=True),
        "POST /ui/login": Case(*same("/ui/login", **token_form), public=True, ui=True),
        "POST /ui/logout": Case(*same("/ui/logout"), public=True, ui=True),
        "GET /ui/fonts/{style}.ttf": Case(*same("/ui/fonts/regular.ttf"), public=True),
        # -- accounts ------------------------------------------------------------------------
        "GET /me": Case(*same("/me"), allow={r: BOTH for r in ROLES[1:]}),
        "GET /accounts": Case(
            **pair("/accounts?library=HNM-KB", "/accounts?library=HNM-DT"),
            allow={**admins, "auditor": BOTH},
        ),
        "POST /accounts": Case(
            own=(
                "/accounts",
                json(
                    {
                        "username": "new.kb",
                        "display_name": "X",
                        "library": "HNM-KB",
                        "roles": ["librarian"],
                    }
                ),
            ),
            other=(
                "/accounts",
                json(
                    {
                        "username": "new.dt",
                        "display_name": "X",
                        "library": "HNM-DT",
                        "roles": ["librarian"],
                    }
                ),
            ),
            allow=admins,
        ),
        "GET /accounts/{username}": Case(**pair(*staff), allow={**admins, "auditor": BOTH}),
        "POST /accounts/{username}/roles": Case(
            **pair(f"{staff[0]}/roles", f"{staff[1]}/roles", json={"role": "librarian"}),
            allow=admins,
        ),
        "DELETE /accounts/{username}/roles/{role}": Case(
            **pair(f"{staff[0]}/roles/library_admin", f"{staff[1]}/roles/library_admin"),
            allow=admins,
        ),
        "POST /accounts/{username}/disable": Case(
            **pair(f"{staff[0]}/disable", f"{staff[1]}/disable", json={"reason": "test"}),
            allow=admins,
        ),
        "POST /accounts/{username}/enable": Case(
            **pair(f"{staff[0]}/enable", f"{staff[1]}/enable"), allow=admins
        ),
        "PUT /accounts/{username}/password": Case(
            **pair(f"{staff[0]}/password", f"{staff[1]}/password", json={"password": PASSWORD}),
            allow=admins,
        ),
        "POST /accounts/{username}/api-keys": Case(
            **pair(f"{staff[0]}/api-keys", f"{staff[1]}/api-keys", json={"label": "x"}),
            allow=admins,
        ),
        "DELETE /accounts/{username}/api-keys/{key_id}": Case(
            **pair(f"{staff[0]}/api-keys/{w['key_kb']}", f"{staff[1]}/api-keys/{w['key_dt']}"),
            allow=admins,
        ),
        # -- libraries -----------------------------------------------------------------------
        "POST /libraries": Case(
            own=(
                "/libraries",
                json({"code": "HNM-S-M1", "name": "M", "kind": "school", "locality": "Kim Bảng"}),
            ),
            other=(
                "/libraries",
                json({"code": "HNM-S-M2", "name": "M", "kind": "school", "locality": "Duy Tiên"}),
            ),
            allow=admin,
        ),
        "POST /libraries/{code}/rename": Case(
            **pair(
                "/libraries/HNM-KB/rename",
                "/libraries/HNM-DT/rename",
                json={"name": "Thư viện", "reason": "test", "act": ACT},
            ),
            allow=admin,
        ),
        # Reorganising (ADR 0021): the network administrator only, on every library. The
        # merges are of libraries no other row needs (a retry answers 200 again).
        "POST /libraries/{code}/recode": Case(
            **pair(
                "/libraries/HNM-LN/recode",
                "/libraries/HNM-BL/recode",
                json={"code": "NBH-X1", "act": ACT},
            ),
            allow=admin,
        ),
        "POST /libraries/{code}/reparent": Case(
            **pair(
                "/libraries/HNM-KB/reparent",
                "/libraries/HNM-DT/reparent",
                json={"parent": "HNM-TVT", "province": "Ninh Bình", "act": ACT},
            ),
            allow=admin,
        ),
        "POST /libraries/{code}/merge": Case(
            **pair(
                "/libraries/HNM-S-ATL/merge",
                "/libraries/HNM-S-ABL/merge",
                json={"into": "HNM-S-BLY", "reason": "test", "act": ACT},
            ),
            allow=admin,
        ),
        "PUT /libraries/{code}/policy": Case(
            **pair("/libraries/HNM-KB/policy", "/libraries/HNM-DT/policy", json={}),
            allow={"library_admin": ONLY_OWN},
        ),
        # -- catalogue, requests, shipments ----------------------------------------------------
        "GET /catalogue/works": Case(
            *same("/catalogue/works"), allow={**librarian_lib, "auditor": BOTH}
        ),
        "GET /catalogue/works/{code}": Case(
            *same("/catalogue/works/W-KIEU"), allow={**librarian_lib, "auditor": BOTH}
        ),
        "POST /requests": Case(
            *same("/requests", json={"work": "W-CHIPHEO", "reader_ref": "BD-9"}),
            allow={"librarian": BOTH},
        ),
        "GET /requests": Case(
            **pair("/requests?library=HNM-KB", "/requests?library=HNM-DT"),
            allow={"librarian": ONLY_OWN, "library_admin": ONLY_OWN, "auditor": BOTH},
        ),
        "GET /requests/{request_id}": Case(
            **pair(f"/requests/{own_req}", f"/requests/{other_req}"),
            allow={"librarian": ONLY_OWN, "library_admin": ONLY_OWN, "auditor": BOTH},
        ),
        "POST /requests/{request_id}/actions": Case(
            **pair(
                f"/requests/{own_req}/actions",
                f"/requests/{other_req}/actions",
                json={"action": "StatusRequest"},
            ),
            allow={"librarian": ONLY_OWN},
        ),
        "GET /shipments": Case(
            **pair("/shipments?library=HNM-KB", "/shipments?library=HNM-DT"),
            allow={"librarian": ONLY_OWN, "library_admin": ONLY_OWN, "auditor": BOTH},
        ),
        "GET /postage/statements": Case(
            **pair("/postage/statements?library=HNM-KB", "/postage/statements?library=HNM-DT"),
            allow={"library_admin": ONLY_OWN, "department": BOTH, "auditor": BOTH},
        ),
        "GET /postage/statements.csv": Case(
            **pair(
                "/postage/statements.csv?library=HNM-KB", "/postage/statements.csv?library=HNM-DT"
            ),
            allow={"library_admin": ONLY_OWN, "department": BOTH, "auditor": BOTH},
        ),
        "GET /statistics/monthly": Case(
            *same("/statistics/monthly"),
            allow={"department": BOTH, "auditor": BOTH, "network_admin": BOTH},
        ),
        "GET /statistics/rotations": Case(
            *same("/statistics/rotations"),
            allow={"department": BOTH, "auditor": BOTH, "network_admin": BOTH},
        ),
        # -- copies, transfers, rotations --------------------------------------------------------
        "POST /copies": Case(
            own=("/copies", json({"barcode": "KB-M-1", "work": "W-KIEU", "library": "HNM-KB"})),
            other=("/copies", json({"barcode": "DT-M-1", "work": "W-KIEU", "library": "HNM-DT"})),
            allow={"library_admin": ONLY_OWN},
        ),
        "GET /copies/{barcode}": Case(
            **pair(f"/copies/{w['own_copy']}", f"/copies/{w['other_copy']}"),
            allow={**readers, "librarian": BOTH, "library_admin": BOTH},
        ),
        # Desk commands act for the caller's own library only: there is no "other" to try.
        "POST /copies/{barcode}/check-out": Case(
            *same(f"/copies/{w['own_copy']}/check-out", json={"reader_ref": "BD-1"}),
            allow={"librarian": BOTH},
        ),
        "POST /copies/{barcode}/check-in": Case(
            *same(f"/copies/{w['own_copy']}/check-in"), allow={"librarian": BOTH}
        ),
        "POST /copies/{barcode}/withdraw": Case(
            *same(f"/copies/{w['own_copy']}/withdraw", json={"reason": "test"}),
            allow={"library_admin": BOTH},
        ),
        "POST /transfers": Case(
            *same(
                "/transfers",
                json={
                    "sender": "HNM-KB",
                    "receiver": "HNM-BL",
                    "reason": "manual",
                    "copies": [w["own_transfer_copy"]],
                },
            ),
            allow={"librarian": BOTH},
        ),
        "GET /transfers": Case(
            **pair("/transfers?library=HNM-KB", "/transfers?library=HNM-DT"),
            allow={**readers, "librarian": ONLY_OWN, "library_admin": ONLY_OWN},
        ),
        "GET /transfers/{transfer_id}": Case(
            **pair(f"/transfers/{own_tr}", f"/transfers/{other_tr}"),
            allow={**readers, "librarian": ONLY_OWN, "library_admin": ONLY_OWN},
        ),
        "POST /transfers/{transfer_id}/actions": Case(
            **pair(
                f"/transfers/{own_tr}/actions",
                f"/transfers/{other_tr}/actions",
                json={"action": "pick", "copies": [w["own_transfer_copy"]]},
            ),
            allow={"librarian": ONLY_OWN},
        ),
        "POST /transfers/{transfer_id}/network-approval": Case(
            **pair(
                f"/transfers/{own_tr}/network-approval",
                f"/transfers/{other_tr}/network-approval",
                json={"decision": "approve"},
            ),
            # (both in transit: the approval is refused by the transfer's state, 409)
            allow={"network_admin": BOTH},
        ),
        "GET /transfers/{transfer_id}/handover/{stage}.pdf": Case(
            **pair(
                f"/transfers/{own_tr}/handover/dispatch.pdf",
                f"/transfers/{other_tr}/handover/dispatch.pdf",
            ),
            allow={**readers, "librarian": ONLY_OWN, "library_admin": ONLY_OWN},
        ),
        "POST /rotations": Case(
            *same(
                "/rotations",
                json={
                    "name": "Tủ sách",
                    "copies": [w["own_copy"]],
                    "stages": [{"library": "HNM-S-AKB", "days": 30}],
                },
            ),
            allow={"librarian": BOTH},
        ),
        "GET /rotations": Case(
            **pair("/rotations?library=HNM-KB", "/rotations?library=HNM-DT"),
            allow={**readers, "librarian": ONLY_OWN, "library_admin": ONLY_OWN},
        ),
        "GET /rotations/{rotation_id}": Case(
            **pair(f"/rotations/{w['own_rotation']}", f"/rotations/{w['other_rotation']}"),
            allow={**readers, "librarian": ONLY_OWN, "library_admin": ONLY_OWN},
        ),
        "POST /rotations/{rotation_id}/actions": Case(
            **pair(
                f"/rotations/{w['own_rotation']}/actions",
                f"/rotations/{w['other_rotation']}/actions",
                json={"action": "extend"},
            ),
            allow={"librarian": ONLY_OWN},
        ),
        # -- digital lending ---------------------------------------------------------------------
        "GET /digital/{work}": Case(
            **pair(f"/digital/{w['own_work']}", f"/digital/{w['other_work']}"),
            allow={"librarian": BOTH, "library_admin": BOTH, "auditor": BOTH},
        ),
        "PUT /digital/{work}/rights": Case(
            **pair(
                f"/digital/{w['own_work']}/rights",
                f"/digital/{w['other_work']}/rights",
                json={"basis": "public_domain"},
            ),
            allow={"library_admin": ONLY_OWN},
        ),
        "PUT /digital/{work}/lendable": Case(
            **pair(
                f"/digital/{w['own_work']}/lendable",
                f"/digital/{w['other_work']}/lendable",
                json={"count": 1},
            ),
            allow={"library_admin": ONLY_OWN},
        ),
        "POST /digital/{work}/loans": Case(
            *same(f"/digital/{w['own_work']}/loans", json={"reader_ref": "BD-M2"}),
            allow={"librarian": BOTH},
        ),
        "POST /digital/{work}/loans/{loan_id}/actions": Case(
            **pair(
                w["own_loan"] + "/actions", w["other_loan"] + "/actions", json={"action": "renew"}
            ),
            allow={"librarian": ONLY_OWN},
        ),
        "POST /digital/{work}/loans/{loan_id}/link": Case(
            **pair(w["own_loan"] + "/link", w["other_loan"] + "/link"),
            allow={"librarian": ONLY_OWN},
        ),
        "POST /digital/{work}/holds": Case(
            *same(f"/digital/{w['own_work']}/holds", json={"reader_ref": "BD-M3"}),
            allow={"librarian": BOTH},
        ),
        "POST /digital/{work}/holds/{reader_ref}/actions": Case(
            **pair(
                w["own_hold"] + "/actions", w["other_hold"] + "/actions", json={"action": "skip"}
            ),
            allow={"librarian": ONLY_OWN},
        ),
        # The signed link is the credential: whoever holds it reads, signed in or not.
        "GET /viewer/{token}/pages/{page}": Case(*same(w["viewer_page"]), public=True),
        # -- projections -----------------------------------------------------------------------
        "GET /projections": Case(*same("/projections"), allow={"auditor": BOTH, **admin}),
        "GET /projections/{name}/parked": Case(
            *same("/projections/requests/parked"), allow={"auditor": BOTH, **admin}
        ),
        "POST /projections/{name}/parked/replay": Case(
            *same("/projections/requests/parked/replay"), allow=admin
        ),
        # -- postal partners -------------------------------------------------------------------
        "POST /partners": Case(
            *same(
                "/partners",
                json={
                    "code": "GHN",
                    "name": "Giao hàng",
                    "subsidy_percent": 30,
                    "monthly_cap_per_library": "100000",
                },
            ),
            allow=admin,
        ),
        "POST /partners/{partner}/secrets": Case(
            **pair("/partners/VNPOST/secrets", "/partners/GHN/secrets"), allow=admin
        ),
        "DELETE /partners/{partner}/secrets/{secret_id}": Case(
            **pair("/partners/VNPOST/secrets/s-0", "/partners/GHN/secrets/s-0"), allow=admin
        ),
        "GET /partners/{partner}/pickups": Case(
            **pair("/partners/VNPOST/pickups", "/partners/GHN/pickups"),
            allow={"postal_partner": ONLY_OWN},
        ),
        # Carriers sign each webhook call with their secret; no role's credential will do.
        "POST /partners/{partner}/shipment-events": Case(
            **pair(
                "/partners/VNPOST/shipment-events",
                "/partners/GHN/shipment-events",
                json={"events": []},
            ),
        ),
        # -- ISO 18626 on the wire (ADR 0028) ----------------------------------------------------
        "POST /iso18626/peers": Case(
            *same(
                "/iso18626/peers",
                json={
                    "library": "HNM-DT",
                    "name": "Outside",
                    "agency_id_type": "ISIL",
                    "agency_id_value": "VN-EXT",
                    "url": "http://127.0.0.1:9/iso18626",
                    "secret": "a-secret-of-sixteen-or-more",
                },
            ),
            allow=admin,
        ),
        "GET /iso18626/peers/{library}": Case(*same("/iso18626/peers/HNM-DT"), allow=admin),
        "GET /requests/{request_id}/iso18626": Case(
            **pair(f"/requests/{own_req}/iso18626", f"/requests/{other_req}/iso18626"),
            allow={"librarian": ONLY_OWN, "library_admin": ONLY_OWN, "auditor": BOTH},
        ),
        # A peer proves itself by its shared secret; no role's credential will do.
        "POST /iso18626": Case(*same("/iso18626", content=b"<x/>")),
        # -- the librarians' web UI ------------------------------------------------------------
        "GET /ui/requests": Case(*same("/ui/requests"), allow=librarian_lib, ui=True),
        "GET /ui/catalogue": Case(*same("/ui/catalogue?q=kieu"), allow=librarian_lib, ui=True),
        "POST /ui/requests": Case(
            *same("/ui/requests", data={"work": "W-CHIPHEO", "reader_ref": "BD-9"}),
            allow={"librarian": BOTH},
            ui=True,
        ),
        "GET /ui/requests/{request_id}": Case(
            **pair(f"/ui/requests/{own_req}", f"/ui/requests/{other_req}"),
            allow={"librarian": ONLY_OWN, "library_admin": ONLY_OWN, "auditor": BOTH},
            ui=True,
        ),
        "POST /ui/requests/{request_id}/act": Case(
            **pair(
                f"/ui/requests/{own_req}/act",
                f"/ui/requests/{other_req}/act",
                data={"action": "StatusRequest"},
            ),
            allow={"librarian": ONLY_OWN},
            ui=True,
        ),
        **ui_parcels_matrix(w),
        **ui_stock_matrix(w),
        **ui_desk_matrix(w),
        **readers_matrix(w),
        **audit_matrix(w),
        **catalogue_import_matrix(w),
    }


def ui_parcels_matrix(w: dict[str, Any]) -> dict[str, Case]:
    """The UI's parcels: the list is my library's; a parcel, its slip and its barcode are
    the sending and receiving libraries' (and an auditor's)."""
    own, other = w["own_shipment"], w["other_shipment"]
    parties = {"librarian": ONLY_OWN, "library_admin": ONLY_OWN, "auditor": BOTH}

    def parcel(tail: str) -> Case:
        return Case(
            **{
                "own": (f"/ui/parcels/{own}{tail}", {}),
                "other": (f"/ui/parcels/{other}{tail}", {}),
            },
            allow=parties,
            ui=True,
        )

    return {
        "GET /ui/parcels": Case(
            *same("/ui/parcels"), allow={"librarian": BOTH, "library_admin": BOTH}, ui=True
        ),
        "GET /ui/parcels/{shipment_id}": parcel(""),
        "GET /ui/parcels/{shipment_id}/slip": parcel("/slip"),
        "GET /ui/parcels/{shipment_id}/waybill.svg": parcel("/waybill.svg"),
    }


def ui_stock_matrix(w: dict[str, Any]) -> dict[str, Case]:
    """The UI's transfers and rotations, as the API's: a library's own, an auditor's,
    the department's and the network's to read; the steps its librarians' (the own
    cases are steps that succeed: HNM-KB approves the transfer proposed to it, sends its
    planned box on)."""
    readers = {"auditor": BOTH, "department": BOTH, "network_admin": BOTH}
    reading = {**readers, "librarian": ONLY_OWN, "library_admin": ONLY_OWN}
    mine = {"librarian": BOTH, "library_admin": BOTH}
    own_tr, other_tr = w["own_transfer"], w["other_transfer"]
    own_ro, other_ro = w["own_rotation"], w["other_rotation"]

    def both(own: str, other: str, **kw: Any) -> dict[str, Any]:
        return {"own": (own, kw), "other": (other, kw)}

    proposal = {"receiver": "HNM-BL", "reason": "manual", "copies": "HNM-KB-UI-1"}
    box = {"name": "Tủ sách", "copies": "HNM-KB-UI-1", "stages": "HNM-S-AKB 30"}
    return {
        "GET /ui/transfers": Case(*same("/ui/transfers"), allow=mine, ui=True),
        "POST /ui/transfers": Case(
            *same("/ui/transfers", data=proposal), allow={"librarian": BOTH}, ui=True
        ),
        "GET /ui/transfers/{transfer_id}": Case(
            **both(f"/ui/transfers/{own_tr}", f"/ui/transfers/{other_tr}"), allow=reading, ui=True
        ),
        "POST /ui/transfers/{transfer_id}/act": Case(
            **both(
                f"/ui/transfers/{w['own_proposal']}/act",
                f"/ui/transfers/{other_tr}/act",
                data={"action": "approve"},
            ),
            allow={"librarian": ONLY_OWN},
            ui=True,
        ),
        "GET /ui/transfers/{transfer_id}/handover/{stage}.pdf": Case(
            **both(
                f"/ui/transfers/{own_tr}/handover/dispatch.pdf",
                f"/ui/transfers/{other_tr}/handover/dispatch.pdf",
            ),
            allow=reading,
            ui=True,
        ),
        "GET /ui/rotations": Case(*same("/ui/rotations"), allow=mine, ui=True),
        "POST /ui/rotations": Case(
            *same("/ui/rotations", data=box), allow={"librarian": BOTH}, ui=True
        ),
        "GET /ui/rotations/{rotation_id}": Case(
            **both(f"/ui/rotations/{own_ro}", f"/ui/rotations/{other_ro}"), allow=reading, ui=True
        ),
        "POST /ui/rotations/{rotation_id}/act": Case(
            **both(
                f"/ui/rotations/{w['ui_rotation']}/act",
                f"/ui/rotations/{other_ro}/act",
                data={"action": "advance"},
            ),
            allow={"librarian": ONLY_OWN},
            ui=True,
        ),
    }


def ui_desk_matrix(w: dict[str, Any]) -> dict[str, Case]:
    """The UI's digital lending (its librarians') and card desk (the home library's; a
    suspension is lifted by the library that made it)."""
    r = w["readers"]
    lender = {"librarian": BOTH}
    desk = {"librarian": ONLY_OWN, "library_admin": ONLY_OWN}

    def card(tail: str, key: str, **kw: Any) -> dict[str, Any]:
        own, other = r[key]
        return {"own": (f"/ui/desk/{own}{tail}", kw), "other": (f"/ui/desk/{other}{tail}", kw)}

    own_work, other_work = w["own_work"], w["other_work"]
    return {
        "GET /ui/digital": Case(*same("/ui/digital"), allow=lender, ui=True),
        "GET /ui/digital/{work}": Case(
            **{"own": (f"/ui/digital/{own_work}", {}), "other": (f"/ui/digital/{other_work}", {})},
            allow=lender,
            ui=True,
        ),
        "POST /ui/digital/{work}/lend": Case(
            *same(f"/ui/digital/{own_work}/lend", data={"reader_ref": "BD-M7", "wait": "1"}),
            allow=lender,
            ui=True,
        ),
        "POST /ui/digital/{work}/loans/{loan_id}/{action}": Case(
            **{
                "own": (f"/ui{w['own_loan']}/link", {}),
                "other": (f"/ui{w['other_loan']}/link", {}),
            },
            allow={"librarian": ONLY_OWN},
            ui=True,
        ),
        "POST /ui/digital/{work}/holds/{reader_ref}/{action}": Case(
            **{
                "own": (f"/ui{w['own_hold']}/cancel", {}),
                "other": (f"/ui{w['other_hold']}/cancel", {}),
            },
            allow={"librarian": ONLY_OWN},
            ui=True,
        ),
        "GET /ui/desk": Case(
            *same("/ui/desk"), allow={"librarian": BOTH, "library_admin": BOTH}, ui=True
        ),
        "GET /ui/desk/{reader_ref}": Case(**card("", "active"), allow=desk, ui=True),
        "POST /ui/desk/{reader_ref}/{action}": Case(
            **card("/reinstate", "suspended"), allow={"librarian": ONLY_OWN}, ui=True
        ),
    }


def readers_matrix(w: dict[str, Any]) -> dict[str, Case]:
    """Readers' cards: registering and the reader's own routes are public (the card's
    access key in the body proves the reader); the desk's steps are the home library's,
    but any library suspends; erasure is the home library administrator's."""
    r = w["readers"]
    desk = {"librarian": ONLY_OWN}

    def on(route: str, key: str, **kw: Any) -> dict[str, Any]:
        own, other = r[key]
        return {"own": (f"/readers/{own}{route}", kw), "other": (f"/readers/{other}{route}", kw)}

    registration = {
        "home_library": "HNM-KB",
        "name": "Đỗ Văn Matrận",
        "date_of_birth": "1980-01-01",
        "contact": "0900 000 000",
    }
    return {
        "GET /ui/readers/register": Case(*same("/ui/readers/register"), public=True, ui=True),
        "POST /ui/readers/register": Case(
            *same("/ui/readers/register", data=registration), public=True, ui=True
        ),
        "GET /ui/me": Case(*same("/ui/me"), public=True, ui=True),
        "POST /ui/me": Case(*same("/ui/me", data=r["me"]), public=True, ui=True),
        "POST /readers": Case(*same("/readers", json=registration), public=True),
        "POST /readers/me/card": Case(*same("/readers/me/card", json=r["me"]), public=True),
        "POST /readers/me/data": Case(*same("/readers/me/data", json=r["me"]), public=True),
        "POST /readers/me/digital": Case(*same("/readers/me/digital", json=r["me"]), public=True),
        "POST /readers/me/digital/{work}/{action}": Case(
            *same("/readers/me/digital/W-HUONGUOC/hold", json=r["me"]), public=True
        ),
        "POST /readers/me/erasure": Case(
            *same("/readers/me/erasure", json=r["me_erase"]), public=True
        ),
        "GET /readers": Case(
            own=("/readers?library=HNM-KB&status=pending", {}),
            other=("/readers?library=HNM-DT&status=pending", {}),
            allow={"librarian": ONLY_OWN, "library_admin": ONLY_OWN},
        ),
        "GET /readers/{reader_ref}": Case(
            **on("", "active"), allow={"librarian": ONLY_OWN, "library_admin": ONLY_OWN}
        ),
        "POST /readers/{reader_ref}/consent": Case(
            **on("/consent", "minor", json={"name": "Mẹ", "contact": "0900 111 222"}), allow=desk
        ),
        "POST /readers/{reader_ref}/activation": Case(
            **on("/activation", "pending", json={"method": "vneid", "fee_paid": 50000}),
            allow=desk,
        ),
        "POST /readers/{reader_ref}/renewal": Case(
            **on("/renewal", "active", json={"fee_paid": 50000}), allow=desk
        ),
        "POST /readers/{reader_ref}/suspension": Case(
            **on("/suspension", "to_suspend", json={"reason": "quá hạn"}),
            allow={"librarian": BOTH},
        ),
        "POST /readers/{reader_ref}/reinstatement": Case(
            **on("/reinstatement", "suspended", json={}), allow=desk
        ),
        "POST /readers/{reader_ref}/erasure": Case(
            **on("/erasure", "to_erase"), allow={"library_admin": ONLY_OWN}
        ),
        "POST /readers/{reader_ref}/data": Case(
            **on("/data", "active"), allow={"library_admin": ONLY_OWN}
        ),
        "GET /statistics/readers": Case(
            *same("/statistics/readers"),
            allow={"auditor": BOTH, "department": BOTH, "network_admin": BOTH},
        ),
    }


def route_table(app: Any) -> dict[str, Any]:
    """'METHOD /path' -> the route's dependant, for every route the app serves."""
    found: dict[str, Any] = {}
    for route in app.routes:
        contexts = (
            list(route.effective_route_contexts())
            if hasattr(route, "effective_route_contexts")
            else [route]
        )
        for r in contexts:
            path = getattr(r, "path_format", None) or r.path
            for method in sorted(set(getattr(r, "methods", None) or ()) - {"HEAD"}):
                found[f"{method} {path}"] = getattr(r, "dependant", None)
    return found


def declared_permissions(dependant: Any) -> list[Any]:
    if dependant is None:
        return []
    found = [dependant.call] if isinstance(dependant.call, Authorize) else []
    for sub in dependant.dependencies:
        found += declared_permissions(sub)
    return found


@pytest.fixture
def world(network: Network) -> tuple[TestClient, dict[str, Any]]:
    client, system = network
    callers = {
        "anonymous": None,
        "librarian": api_key_for(system, "m-librarian", "librarian", library="HNM-KB"),
        "library_admin": api_key_for(system, "m-admin", "library_admin", library="HNM-KB"),
        "postal_partner": api_key_for(system, "m-carrier", "postal_partner", partner="VNPOST"),
        "auditor": api_key_for(system, "m-auditor", "auditor"),
        "department": api_key_for(system, "m-department", "department"),
        "network_admin": api_key_for(system, "m-network", "network_admin"),
    }
    admin = network_admin(client)
    assert client.post(
        "/partners",
        json={"code": "GHN", "name": "G", "subsidy_percent": 0, "monthly_cap_per_library": "0"},
        headers=admin,
    ).status_code in (200, 201)
    for username, library in (("staff.kb", "HNM-KB"), ("staff.dt", "HNM-DT")):
        client.post(
            "/accounts",
            json={"username": username, "display_name": username, "library": library},
            headers=admin,
        )
    w: dict[str, Any] = {
        "key_kb": system.accounts.issue_api_key(TESTER, "staff.kb", "to revoke")[0],
        "key_dt": system.accounts.issue_api_key(TESTER, "staff.dt", "to revoke")[0],
        "callers": callers,
    }
    system.accounts.open_account(TESTER, "t-password", "T", roles=["auditor"], password=PASSWORD)
    kb = {"Authorization": f"Bearer {callers['librarian']}"}
    apl = {
        "Authorization": "Bearer " + api_key_for(system, "m-apl", "librarian", library="HNM-S-APL")
    }
    w["own_request"] = client.post(
        "/requests", json={"work": "W-CHIPHEO", "reader_ref": "1"}, headers=kb
    ).json()["id"]
    w["other_request"] = client.post(
        "/requests", json={"work": "W-SODO", "reader_ref": "2"}, headers=apl
    ).json()["id"]
    from uuid import UUID

    assert "HNM-KB" not in system.requests.request_parties(UUID(w["other_request"]))
    w.update(transfers_world(system))
    w["readers"] = readers_world(system)
    w.update(digital_world(system))
    w.update(audit_world(system))
    w.update(catalogue_import_world(system))
    eventually(
        lambda: all(
            p["lag"] == 0 for p in client.get("/projections", headers=admin).json().values()
        ),
        what="the read models",
    )
    return client, w


def digital_world(system: Any) -> dict[str, Any]:
    """A digitised work of HNM-KB's with a KB reader's loan and hold; a loan and a hold of
    HNM-DT's readers on the provincial library's W-HUONGUOC; a live viewer link."""
    kb = Principal("m-kb", frozenset({Role.LIBRARIAN}), library="HNM-KB", library_kind="district")
    dt = Principal("m-dt", frozenset({Role.LIBRARIAN}), library="HNM-DT", library_kind="district")
    act = system.entry.act
    act(DEMO_LOADER, RegisterWork("W-SOHOA-KB", "Gia phả (bản số)", "han_nom", digital=True))
    act(DEMO_LOADER, RegisterHolding("W-SOHOA-KB", "HNM-KB", 1, 1))
    act(DEMO_LOADER, RecordRights("W-SOHOA-KB", "public_domain", library="HNM-KB"))
    act(DEMO_LOADER, SetLendable("W-SOHOA-KB", 1))
    own = act(kb, BorrowDigital("W-SOHOA-KB", "BD-M1"))["loan_id"]
    act(kb, PlaceDigitalHold("W-SOHOA-KB", "BD-M4"))
    other = act(dt, BorrowDigital("W-HUONGUOC", "BD-M5"))["loan_id"]
    act(dt, PlaceDigitalHold("W-HUONGUOC", "BD-M6"))
    link = act(kb, IssueViewerLink("W-SOHOA-KB", own))
    write_demo_pages(FolderPages(pages_dir(system.settings)), {"W-SOHOA-KB": "Gia phả"})
    return {
        "own_work": "W-SOHOA-KB",
        "other_work": "W-HUONGUOC",
        "own_loan": f"/digital/W-SOHOA-KB/loans/{own}",
        "other_loan": f"/digital/W-HUONGUOC/loans/{other}",
        "own_hold": "/digital/W-SOHOA-KB/holds/BD-M4",
        "other_hold": "/digital/W-HUONGUOC/holds/BD-M6",
        "viewer_page": link["url"],
    }


def transfers_world(system: Any) -> dict[str, Any]:
    """A transfer of the caller's library (HNM-KB to HNM-DT) and one between two others
    (HNM-DT to HNM-BL), both dispatched (so that their handover records exist); a
    rotation planned by each of HNM-KB and HNM-DT; a copy of each."""
    from uuid import UUID

    from infra.clock import utc_now

    now = utc_now()

    def dispatched(sender: str, receiver: str, copy: str, waybill: str) -> str:
        t = system.transfers.propose(
            TESTER,
            sender,
            sender=sender,
            receiver=receiver,
            reason="manual",
            copies=[copy],
            due_date=None,
            note="",
            client_request_id=None,
            now=now,
        )
        tid = UUID(t["id"])
        system.transfers.act(TESTER, tid, receiver, "approve", {}, None, now)
        system.transfers.act(TESTER, tid, sender, "pick", {"copies": [copy]}, None, now)
        shipment = {
            "partner": "VNPOST",
            "waybill": waybill,
            "parcels": [{"weight_grams": 400, "contents": [copy]}],
            "declared_postage": "20000",
        }
        system.transfers.act(TESTER, tid, sender, "dispatch", {"shipments": [shipment]}, None, now)
        return str(tid)

    def rotation(home: str, copy: str, stage: str) -> str:
        r = system.rotations.plan(
            TESTER,
            home,
            name="Tủ sách",
            copies=[copy],
            stages=[{"library": stage, "days": 30}],
            cyclical=False,
            client_request_id=None,
        )
        return str(r["id"])

    proposal = system.transfers.propose(
        TESTER,
        "HNM-TVT",
        sender="HNM-TVT",
        receiver="HNM-KB",
        reason="manual",
        copies=["HNM-TVT-W-KIEU-5"],
        due_date=None,
        note="",
        client_request_id=None,
        now=now,
    )
    for barcode in ("HNM-KB-UI-1", "HNM-KB-UI-2"):  # the UI's own steps
        system.entry.act(DEMO_LOADER, RegisterCopy(barcode, "W-TATDEN", "HNM-KB"))
    return {
        "own_proposal": proposal["id"],
        "ui_rotation": rotation("HNM-KB", "HNM-KB-UI-2", "HNM-S-AKB"),
        "own_copy": "HNM-KB-W-KIEU-1",
        "other_copy": "HNM-DT-W-KIEU-1",
        "own_transfer_copy": "HNM-KB-W-TATDEN-1",
        "own_transfer": dispatched("HNM-KB", "HNM-DT", "HNM-KB-W-TATDEN-1", "EB900000001VN"),
        "other_transfer": dispatched("HNM-DT", "HNM-BL", "HNM-DT-W-KIEU-2", "EB900000002VN"),
        "own_shipment": Shipment.id_for("VNPOST", "EB900000001VN"),
        "other_shipment": Shipment.id_for("VNPOST", "EB900000002VN"),
        "own_rotation": rotation("HNM-KB", "HNM-KB-W-KIEU-1", "HNM-S-AKB"),
        "other_rotation": rotation("HNM-DT", "HNM-DT-W-KIEU-1", "HNM-S-ADT"),
    }


def readers_world(system: Any) -> dict[str, Any]:
    """Cards of HNM-KB (own) and HNM-DT (other) in the states each route needs."""
    from datetime import date

    from domain.access import ONLINE_REGISTRATION, Principal
    from domain.account import Role
    from services.commands import CardStep, RegisterReader

    desks = {
        lib: Principal(f"m-desk-{lib}", frozenset({Role.LIBRARIAN}), library=lib)
        for lib in ("HNM-KB", "HNM-DT")
    }

    def card(lib: str, born: date = date(1990, 1, 1), *steps: str) -> dict[str, Any]:
        made = system.entry.act(
            ONLINE_REGISTRATION, RegisterReader(lib, "Bạn Đọc", born, "0900 123 456")
        )
        for step in steps:
            params = {"method": "vneid", "fee_paid": 50_000, "reason": "quá hạn"}
            system.entry.act(desks[lib], CardStep(made["reader_ref"], step, params))
        return dict(made)

    def both(born: date = date(1990, 1, 1), *steps: str) -> tuple[str, str]:
        return (
            card("HNM-KB", born, *steps)["reader_ref"],
            card("HNM-DT", born, *steps)["reader_ref"],
        )

    me, me_erase = card("HNM-KB", date(1990, 1, 1), "activate"), card("HNM-KB")
    return {
        "pending": both(),
        "minor": both(date(2015, 1, 1)),
        "active": both(date(1990, 1, 1), "activate"),
        "to_suspend": both(date(1990, 1, 1), "activate"),
        "suspended": both(date(1990, 1, 1), "activate", "suspend"),
        "to_erase": both(),
        "me": {"reader_ref": me["reader_ref"], "access_key": me["access_key"]},
        "me_erase": {"reader_ref": me_erase["reader_ref"], "access_key": me_erase["access_key"]},
    }


def call(client: TestClient, method: str, case: Case, which: str, credential: str | None) -> Any:
    url, kw = case.own if which == OWN or case.other is None else case.other
    client.cookies.clear()
    headers: dict[str, str] = {}
    if case.ui and method == "POST":  # a form, with the CSRF token its page gave
        client.get("/")
        token = client.cookies.get(CSRF_COOKIE) or ""
        client.cookies.clear()
        headers["Cookie"] = f"{CSRF_COOKIE}={token}"
        kw = {**kw, "data": {**kw.get("data", {}), "csrf": token}}
    if credential and case.ui:
        headers["Cookie"] = "; ".join([*headers.values(), f"{UI_COOKIE}={credential}"])
    elif credential:
        headers["Authorization"] = f"Bearer {credential}"
    return client.request(method, url, headers=headers, follow_redirects=False, **kw)


def denied(response: Any, case: Case) -> bool:
    if case.ui and response.status_code == 303:
        return "error=" in response.headers["location"]
    return response.status_code in (401, 403, 404)


def test_every_role_on_every_endpoint_is_allowed_or_denied_as_the_matrix_says(
    world: tuple[TestClient, dict[str, Any]],
) -> None:
    client, w = world
    cases = matrix(w)
    routes = route_table(client.app)
    assert sorted(set(routes) - set(cases)) == [], "endpoints without an entry in the matrix"
    assert sorted(set(cases) - set(routes)) == [], "matrix entries for endpoints that are gone"
    wrong: list[str] = []
    for name, case in cases.items():
        method = name.split()[0]
        guards = declared_permissions(routes[name])
        if (
            not case.public
            and not case.ui
            and name not in ("POST /partners/{partner}/shipment-events", "POST /iso18626")
        ):
            assert len(guards) == 1, f"{name} declares no permission (or several)"
        for role in ROLES:
            for which in (OWN, OTHER) if case.other else (OWN,):
                r = call(client, method, case, which, w["callers"][role])
                expect_allowed = case.public or which in case.allow.get(role, frozenset())
                if r.status_code >= 500 or denied(r, case) == expect_allowed:
                    said = unquote(r.headers.get("location", "")) or r.text[:120]
                    wrong.append(f"{name} {role} {which}: {r.status_code} {said}")
                if not expect_allowed and not case.ui and role == "anonymous":
                    assert r.status_code == 401, f"{name}: anonymous gets {r.status_code}"
    assert wrong == []


def test_denials_are_problem_json_that_leak_nothing(
    world: tuple[TestClient, dict[str, Any]],
) -> None:
    client, w = world
    key = w["callers"]["librarian"]
    stranger = client.get(
        f"/requests/{w['other_request']}", headers={"Authorization": f"Bearer {key}"}
    )
    missing = client.get(
        "/requests/00000000-0000-4000-8000-000000000000", headers={"Authorization": f"Bearer {key}"}
    )
    # Another library's request and no request at all are told apart by nothing.
    assert stranger.status_code == missing.status_code == 404
    assert stranger.json()["detail"].replace(w["other_request"], "X") == missing.json()[
        "detail"
    ].replace("00000000-0000-4000-8000-000000000000", "X")
    auditor = {"Authorization": f"Bearer {w['callers']['auditor']}"}
    r = client.post("/requests", json={"work": "W-KIEU", "reader_ref": "x"}, headers=auditor)
    assert r.status_code == 403 and r.headers["content-type"] == "application/problem+json"
    assert r.json()["type"] == "/problems/forbidden"
    r = client.get("/requests")
    assert r.status_code == 401 and r.json()["type"] == "/problems/unauthenticated"
    assert r.headers["www-authenticate"] == "Bearer"


# -- the auditors' API (ADR 0026) -------------------------------------------------------------
def audit_world(system: Any) -> dict[str, Any]:
    """Every event so far in the verifiable log, and a checkpoint of it."""
    audit = system.make_audit_log()
    audit.run_once()
    audit.checkpoint()
    with system.db.transaction() as conn:
        size, aggregate, version = conn.execute(
            "SELECT (SELECT max(size) FROM audit_checkpoints), originator_id, "
            "originator_version FROM audit_leaves ORDER BY leaf_index LIMIT 1"
        ).fetchone()
    assert size is not None
    return {"audit_size": size, "audit_event": f"aggregate_id={aggregate}&version={version}"}


def audit_matrix(w: dict[str, Any]) -> dict[str, Case]:
    """Read-only, and the auditor's alone."""
    only = {"auditor": BOTH}
    size, event, req = w["audit_size"], w["audit_event"], w["own_request"]
    return {
        "GET /audit/key": Case(*same("/audit/key"), allow=only),
        "GET /audit/checkpoint": Case(*same(f"/audit/checkpoint?size={size}"), allow=only),
        "GET /audit/proofs/inclusion": Case(
            *same(f"/audit/proofs/inclusion?{event}&size={size}"), allow=only
        ),
        "GET /audit/proofs/consistency": Case(
            *same(f"/audit/proofs/consistency?first={size}&second={size}"), allow=only
        ),
        "GET /audit/export/log.jsonl": Case(*same("/audit/export/log.jsonl"), allow=only),
        "GET /audit/export/log.csv": Case(*same("/audit/export/log.csv"), allow=only),
        "GET /audit/export/bundle": Case(*same("/audit/export/bundle"), allow=only),
        "GET /audit/export/requests/{request_id}.jsonl": Case(
            *same(f"/audit/export/requests/{req}.jsonl"), allow=only
        ),
        "GET /audit/export/requests/{request_id}.csv": Case(
            *same(f"/audit/export/requests/{req}.csv"), allow=only
        ),
        "GET /audit/as-of/catalogue/works": Case(
            *same("/audit/as-of/catalogue/works?as_of=2026-01-01T00:00Z"), allow=only
        ),
        "GET /audit/as-of/requests": Case(
            *same("/audit/as-of/requests?as_of=2026-01-01T00:00Z&library=HNM-KB"), allow=only
        ),
        "GET /audit/as-of/statistics/monthly": Case(
            *same("/audit/as-of/statistics/monthly?as_of=2026-01-01T00:00Z"), allow=only
        ),
        "GET /audit/as-of/aggregates/{aggregate_id}": Case(
            *same(f"/audit/as-of/aggregates/{req}?version=1"), allow=only
        ),
    }


def test_no_command_accepts_the_auditor(world: tuple[TestClient, dict[str, Any]]) -> None:
    """Every command of the one way in, as the auditor, on real resources where it names
    one: each is refused, and not one event is written. And the policy grants the auditor
    nothing but reading."""
    import dataclasses
    from datetime import UTC, datetime
    from uuid import UUID, uuid4

    import services.commands as commands
    from domain.access import RULES, Permission
    from domain.errors import DomainError
    from domain.lending_policy import LendingPolicy
    from tests.actors import ACT_2025

    reading = {p for p in Permission if p.value.endswith(".read")}
    held = {p for p, roles in RULES.items() if Role.AUDITOR in roles}
    assert held <= reading, f"the auditor holds more than reading: {held - reading}"

    client, w = world
    system = client.app.state.system  # type: ignore[attr-defined]
    auditor = Principal("m-auditor", frozenset({Role.AUDITOR}))
    now = datetime.now(UTC)
    values: dict[str, Any] = {
        "str": "HNM-KB",
        "str | None": "HNM-KB",
        "int": 1,
        "int | None": 1,
        "date | None": now.date(),
        "date": now.date(),
        "datetime": now,
        "LegalAct": ACT_2025,
        "Role": Role.LIBRARIAN,
        "LendingPolicy": LendingPolicy(),
        "tuple[str, ...]": (w["own_copy"],),
        "tuple[tuple[str, int], ...]": (("HNM-DT", 30),),
        "list[dict[str, Any]]": [{"waybill": "RR1VN", "status": "delivered"}],
        "dict[str, Any]": {},
        "bytes": b"x",
        "bool": False,
        "Any": None,
    }
    by_name = {"work": "W-KIEU", "barcode": w["own_copy"], "request_id": UUID(w["own_request"])}
    kinds = [
        c
        for c in vars(commands).values()
        if isinstance(c, type) and issubclass(c, commands.Command) and c is not commands.Command
    ]
    assert len(kinds) >= 40

    def events() -> int:
        with system.db.transaction() as conn:
            (n,) = conn.execute("SELECT count(*) FROM libshare_events").fetchone()
        return int(n)

    before = events()
    accepted = []
    for kind in kinds:
        kwargs: dict[str, Any] = {}
        for f in dataclasses.fields(kind):
            if f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING:
                continue
            hint = str(f.type)  # as written (the module defers its annotations)
            if f.name in by_name:
                kwargs[f.name] = by_name[f.name]
            elif hint == "UUID":
                kwargs[f.name] = uuid4()
            else:
                kwargs[f.name] = values[hint]
        try:
            system.entry.act(auditor, kind(**kwargs))
        except DomainError:
            continue
        accepted.append(kind.__name__)
    assert accepted == []
    assert events() == before


def catalogue_import_world(system: Any) -> dict[str, Any]:
    """A record of each library imported, of its own work (a separation is refused: 409)."""
    from domain.access import CATALOGUE_IMPORTER
    from services.commands import ImportCatalogue
    from tests.integration.marc_files import Book, iso2709

    for library in ("HNM-KB", "HNM-DT"):
        data = iso2709(Book(f"{library}-M1", f"Sách ma trận {library}", "Tác giả"))
        system.entry.act(CATALOGUE_IMPORTER, ImportCatalogue(library, data))
    return {"marc": iso2709(Book("M-2", "Sách ma trận hai", "Tác giả"))}


def catalogue_import_matrix(w: dict[str, Any]) -> dict[str, Case]:
    """Importing a catalogue and separating a record: the library's administrator's."""
    upload = {"content": w["marc"]}
    return {
        "POST /libraries/{code}/catalogue-imports": Case(
            own=("/libraries/HNM-KB/catalogue-imports", upload),
            other=("/libraries/HNM-DT/catalogue-imports", upload),
            allow={"library_admin": ONLY_OWN},
        ),
        "POST /libraries/{code}/catalogue-records/{local_id}/separate": Case(
            own=("/libraries/HNM-KB/catalogue-records/HNM-KB-M1/separate", json({"reason": "x"})),
            other=("/libraries/HNM-DT/catalogue-records/HNM-DT-M1/separate", json({"reason": "x"})),
            allow={"library_admin": ONLY_OWN},
        ),
        # OAI-PMH and SRU: for outside systems, which are no accounts
        "GET /oai": Case(*same("/oai?verb=Identify"), public=True),
        "POST /oai": Case(*same("/oai", data={"verb": "Identify"}), public=True),
        "GET /sru": Case(*same("/sru?query=kieu"), public=True),
    }
