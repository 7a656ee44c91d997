"""Interlibrary loans end to end over HTTP: the real event store, the demo network loaded
through commands, the embedded projector keeping the read models (tests/e2e/conftest.py),
the timers."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from composition.bootstrap import System
from infra.clock import utc_now
from tests.e2e.callers import Librarian, auditor, headers_for, seen
from tests.integration.support import eventually


@pytest.fixture
def librarian(network: tuple[TestClient, System]) -> Callable[[str], Librarian]:
    return lambda code: Librarian(network[0], code)


def test_a_loan_from_request_to_completion(librarian: Callable[[str], Librarian]) -> None:
    school, district = librarian("HNM-S-ATL"), librarian("HNM-TL")
    created = school.request("W-DEMEN")
    assert created["supplier"] == "HNM-TL"  # same locality (Thanh Liêm) first
    assert created["rota"][0] == {"library": "HNM-TL", "reason": "same locality (Thanh Liêm)"}
    rid = created["id"]
    eventually(
        lambda: any(
            r["id"] == rid
            for r in district.get(
                "/requests", params={"role": "supplier", "status": "RequestReceived"}
            ).json()
        ),
        what="the request in the supplier's incoming queue",
    )
    # Each side is offered the ISO actions valid for it now; a reader is offered none.
    mine, theirs = school.get(f"/requests/{rid}").json(), district.get(f"/requests/{rid}").json()
    assert "Cancel" in mine["actions"] and "WillSupply" not in mine["actions"]
    assert {"WillSupply", "Loaned", "Unfilled"} <= set(theirs["actions"])
    assert "Cancel" not in theirs["actions"]
    auditor_view = school.client.get(f"/requests/{rid}", headers=auditor(school.client)).json()
    assert auditor_view["actions"] == []

    district.ok(rid, "WillSupply")
    loaned = district.lend(rid, "W-DEMEN")
    assert loaned["due_date"] == (utc_now().date() + timedelta(days=28)).isoformat()
    eventually(
        lambda: school.get("/catalogue/works/W-DEMEN").json()["holdings"][0]["available"] == 1,
        what="one copy out on loan",
    )
    seen(school, rid, "Loaned")
    school.ok(rid, "Received")
    school.ok(rid, "ShippedReturn")
    district.ok(rid, "LoanCompleted")
    done = seen(school, rid, "LoanCompleted")
    assert [e["event"] for e in done["timeline"]] == [
        "Requested",
        "SentToSupplier",
        "WillSupply",
        "Loaned",
        "Received",
        "ReturnShipped",
        "LoanCompleted",
    ]
    # Every event records the acting account, its role and its library.
    assert done["timeline"][3]["actor"] == {
        "account": "t-librarian-hnm-tl",
        "library": "HNM-TL",
        "role": "librarian",
    }


def test_a_copy_of_a_never_shipped_work_is_delivered_and_a_loan_of_it_lent_digitally(
    librarian: Callable[[str], Librarian],
) -> None:
    district = librarian("HNM-DT")
    copy = district.request("W-THANTICH", service_type="Copy")
    assert copy["supplier"] == "HNM-TVT"
    librarian("HNM-TVT").ok(copy["id"], "CopyCompleted", note="bản quét trang 1-12")
    seen(district, copy["id"], "CopyCompleted")

    # Its one digital copy (ADR 0022): ISO Loaned with a delivered format of URL.
    loan = district.request("W-THANTICH", service_type="Loan")
    assert loan["status"] == "Loaned" and loan["supplier"] == "HNM-TVT"
    loaned = seen(district, loan["id"], "Loaned")["timeline"][-1]["data"]
    assert loaned["delivered_format"] == "URL" and loaned["url"].startswith("/digital/W-THANTICH/")
    # With that copy lent, the next reader waits on its waitlist (ISO ExpectToSupply)...
    next_loan = district.request("W-THANTICH", service_type="Loan", reader_ref="BD-0043")
    assert next_loan["status"] == "ExpectToSupply" and next_loan["supplier"] == "HNM-TVT"
    # ...and the same reader asking again is unfilled, with the reason.
    again = district.request("W-THANTICH", service_type="Loan")
    assert again["status"] == "Unfilled" and again["supplier"] is None
    detail = seen(district, again["id"], "Unfilled")
    reasons = detail["timeline"][-1]["data"]["reasons"]
    assert reasons == [{"library": "HNM-TVT", "reason": "never shipped: digital access only"}]


def test_a_cancel_accepted_and_a_cancel_refused(librarian: Callable[[str], Librarian]) -> None:
    requester, supplier = librarian("HNM-BL"), librarian("HNM-KB")
    first = requester.request("W-TATDEN")
    assert first["supplier"] == "HNM-KB"
    requester.ok(first["id"], "Cancel", reason="bạn đọc đã mua sách")
    refused = supplier.ok(first["id"], "CancelResponse", answer="N", reason="đã gửi đi")
    assert refused["status"] == "RequestReceived"
    supplier.lend(first["id"], "W-TATDEN")
    late = requester.act(first["id"], "Cancel")
    assert late.status_code == 409
    assert late.json()["type"] == "/problems/illegal-transition"
    assert late.json()["state"] == "Loaned"

    second = requester.request("W-KIEU")
    requester.ok(second["id"], "Cancel")
    supplier_of_second = librarian(second["supplier"])
    supplier_of_second.ok(second["id"], "CancelResponse", answer="Y")
    seen(requester, second["id"], "Cancelled")


def test_a_renewal_extends_the_due_date(librarian: Callable[[str], Librarian]) -> None:
    requester, supplier = librarian("HNM-S-BLY"), librarian("HNM-LN")
    rid = requester.request("W-LAOHAC")["id"]
    due = date.fromisoformat(supplier.lend(rid, "W-LAOHAC")["due_date"])
    requester.ok(rid, "Received")
    requester.ok(rid, "Renew")
    renewed = supplier.ok(rid, "RenewResponse", answer="Y")
    assert date.fromisoformat(renewed["due_date"]) == due + timedelta(days=14)
    requester.ok(rid, "Renew")
    over = supplier.act(rid, "RenewResponse", answer="Y")  # the default policy allows one
    assert over.status_code == 422 and "all used" in over.json()["detail"]


def test_an_overdue_loan_is_marked_and_reminded_by_the_timer(
    network: tuple[TestClient, System],
    librarian: Callable[[str], Librarian],
) -> None:
    _, system = network
    requester, supplier = librarian("HNM-PL"), librarian("HNM-TVT")
    rid = requester.request("W-DOITHUA")["id"]
    due = date.fromisoformat(supplier.lend(rid, "W-DOITHUA")["due_date"])
    requester.ok(rid, "Received")
    seen(requester, rid, "Received")
    later = utc_now() + (due - utc_now().date()) + timedelta(days=1)
    assert system.timers().run_once(later)["overdue"] == 1
    detail = seen(requester, rid, "Overdue")
    assert [e["event"] for e in detail["timeline"]][-2:] == ["MarkedOverdue", "ReminderSent"]
    assert detail["timeline"][-1]["actor"] == {"account": "libshare-timers", "role": "system"}
    assert system.timers().run_once(later)["reminded"] == 0  # once a day


def test_an_unanswered_supplier_is_skipped_and_an_exhausted_rota_ends_unfilled(
    network: tuple[TestClient, System],
    librarian: Callable[[str], Librarian],
) -> None:
    _, system = network
    requester = librarian("HNM-S-ADT")  # Duy Tiên school
    created = requester.request("W-KIEU")
    rota = [e["library"] for e in created["rota"]]
    assert rota == ["HNM-DT", "HNM-TVT", "HNM-KB"]  # same locality, provincial, by load
    seen(requester, created["id"], "RequestReceived")
    later = utc_now() + timedelta(hours=49)
    assert system.timers().run_once(later)["expired"] == 1
    eventually(
        lambda: requester.get(f"/requests/{created['id']}").json()["supplier"] == "HNM-TVT",
        what="the next supplier in the rota",
    )
    librarian("HNM-TVT").ok(created["id"], "Unfilled", reason="NotOnShelf")
    librarian("HNM-KB").ok(created["id"], "Unfilled", reason="Damaged")
    final = seen(requester, created["id"], "Unfilled")
    assert final["timeline"][-1]["data"]["reasons"][:3] == [
        {"library": "HNM-DT", "reason": "AnswerTimedOut"},
        {"library": "HNM-TVT", "reason": "NotOnShelf"},
        {"library": "HNM-KB", "reason": "Damaged"},
    ]


def test_restricted_works_are_invisible_outside_the_armed_forces(
    librarian: Callable[[str], Librarian],
) -> None:
    school, police = librarian("HNM-S-BH"), librarian("HNM-CA")
    assert school.get("/catalogue/works/W-QS-TAILIEU").status_code == 404
    assert "W-QS-TAILIEU" not in {w["code"] for w in school.get("/catalogue/works").json()}
    r = school.post("/requests", {"work": "W-QS-TAILIEU", "reader_ref": "x"})
    assert r.status_code == 404
    assert police.get("/catalogue/works/W-QS-TAILIEU").status_code == 200
    assert "W-QS-TAILIEU" in {w["code"] for w in police.get("/catalogue/works").json()}
    created = police.request("W-QS-TAILIEU")
    assert created["supplier"] == "HNM-QS"
    seen(police, created["id"], "RequestReceived")
    # Nor does any read model show the request outside the armed forces: not the queues,
    # not the request itself, not the shipments, not the library's administrator's view.
    school_admin = headers_for(school.client, "library_admin", library="HNM-S-BH")
    for path in ("/requests", "/requests?role=supplier", "/shipments"):
        for headers in (school.headers, school_admin):
            body = school.client.get(path, headers=headers).text
            assert "W-QS-TAILIEU" not in body and created["id"] not in body
    assert school.get(f"/requests/{created['id']}").status_code == 404
    military = librarian("HNM-QS")
    assert military.get(f"/requests/{created['id']}").json()["work"] == "W-QS-TAILIEU"


def test_a_retried_command_returns_the_first_result_and_creates_nothing(
    librarian: Callable[[str], Librarian],
) -> None:
    requester = librarian("HNM-KB")
    first = requester.request("W-CHIPHEO", client_request_id="kb-2026-0001")
    again = requester.request("W-CHIPHEO", client_request_id="kb-2026-0001")
    assert again["id"] == first["id"] and again["replayed"] is True
    supplier = librarian(first["supplier"])
    a = supplier.ok(first["id"], "WillSupply", client_request_id="ws-1")
    b = supplier.ok(first["id"], "WillSupply", client_request_id="ws-1")
    assert b["version"] == a["version"] and b["replayed"] is True
    eventually(lambda: len(requester.get("/requests").json()) == 1, what="the queue")
    assert len(requester.get("/requests").json()) == 1


def test_two_librarians_acting_at_once_one_wins_the_other_gets_409_with_the_state(
    librarian: Callable[[str], Librarian],
) -> None:
    requester = librarian("HNM-LN")
    created = requester.request("W-CHIPHEO")
    supplier = librarian(created["supplier"])
    version = created["version"]
    assert supplier.ok(created["id"], "ExpectToSupply", expected_version=version)
    lost = supplier.act(created["id"], "WillSupply", expected_version=version)
    assert lost.status_code == 409 and lost.json()["type"] == "/problems/conflict"
    assert lost.json()["current"]["status"] == "ExpectToSupply"


def test_only_the_parties_may_act_or_see_a_request(librarian: Callable[[str], Librarian]) -> None:
    requester = librarian("HNM-S-APL")
    created = requester.request("W-SODO")
    assert created["supplier"] == "HNM-BL"
    stranger = librarian("HNM-DT")
    r = stranger.act(created["id"], "WillSupply")
    # A library that is no party is not even told that the request exists.
    assert r.status_code == 404 and r.json()["type"] == "/problems/not-found"
    assert stranger.get(f"/requests/{created['id']}").status_code == 404
    # A party out of turn is told why.
    r = requester.act(created["id"], "WillSupply")
    assert r.status_code == 403 and r.json()["type"] == "/problems/not-party"
    assert requester.client.get("/requests").status_code == 401


def test_an_item_shipped_forward_skips_the_return_trip(
    librarian: Callable[[str], Librarian],
) -> None:
    kim_bang, duy_tien, provincial = (librarian(c) for c in ("HNM-KB", "HNM-DT", "HNM-TVT"))
    first = kim_bang.request("W-CHIPHEO")
    assert first["supplier"] == "HNM-TVT"
    provincial.lend(first["id"], "W-CHIPHEO")
    kim_bang.ok(first["id"], "Received")
    second = duy_tien.request("W-CHIPHEO")
    assert second["supplier"] == "HNM-TVT"
    kim_bang.ok(first["id"], "ShippedForward", to_request=second["id"])
    forwarded = seen(duy_tien, second["id"], "Loaned")
    assert forwarded["timeline"][-1]["data"]["forwarded_from"] == first["id"]
    seen(kim_bang, first["id"], "ShippedForward")
    holdings = {
        h["library"]: h for h in kim_bang.get("/catalogue/works/W-CHIPHEO").json()["holdings"]
    }
    assert holdings["HNM-TVT"]["on_loan"] == 1  # one copy out, now at Duy Tiên
    status = duy_tien.ok(second["id"], "StatusRequest")
    assert status["status"] == "Loaned"


def test_read_models_rebuilt_from_zero_equal_the_live_ones(
    network: tuple[TestClient, System],
    librarian: Callable[[str], Librarian],
) -> None:
    _, system = network
    requester = librarian("HNM-S-ADT")
    for work in ("W-KIEU", "W-CHIPHEO", "W-DEMEN"):
        created = requester.request(work)
        supplier = librarian(created["supplier"])
        supplier.lend(created["id"], work)
        requester.ok(created["id"], "Received")
    requester.ok(created["id"], "Renew")
    client = requester.client
    eventually(
        lambda: all(
            p["lag"] == 0
            for p in client.get("/projections", headers=auditor(client)).json().values()
        ),
        what="the projections to catch up",
    )
    tables = {
        "libraries": ["libraries", "lending_policies"],
        "catalogue": ["catalogue_works", "catalogue_holdings"],
        "requests": ["ill_requests", "ill_request_timeline"],
    }

    def snapshot() -> dict[str, list[tuple[Any, ...]]]:
        with system.db.transaction() as conn:
            return {
                t: conn.execute(f"SELECT * FROM {t} ORDER BY 1, 2").fetchall()
                for ts in tables.values()
                for t in ts
            }

    live = snapshot()
    assert live["ill_requests"]
    for name in tables:
        system.rebuild(name)
    assert snapshot() == live


def test_monthly_statistics_count_requests_fills_and_turnaround(
    librarian: Callable[[str], Librarian],
) -> None:
    school = librarian("HNM-S-ADT")
    filled = school.request("W-KIEU")
    librarian(filled["supplier"]).lend(filled["id"], "W-KIEU")
    # A loan of a never-shipped work for the reader who has its one digital copy already:
    # Unfilled at once.
    provincial = librarian("HNM-TVT")
    lent = provincial.post("/digital/W-THANTICH/loans", {"reader_ref": "BD-TVT-1"})
    assert lent.status_code == 201, lent.text
    school.request("W-THANTICH", reader_ref="BD-TVT-1")
    cancelled = school.request("W-CHIPHEO")
    school.ok(cancelled["id"], "Cancel")
    librarian(cancelled["supplier"]).ok(cancelled["id"], "CancelResponse", answer="Y")

    def stats() -> dict[str, Any]:
        department = headers_for(school.client, "department")
        return dict(school.client.get("/statistics/monthly", headers=department).json())

    eventually(lambda: stats()["network"]["cancelled"] == 1, what="the statistics")
    rows = {r["library"]: r for r in stats()["libraries"]}
    mine = rows["HNM-S-ADT"]
    assert (mine["requested"], mine["filled"], mine["unfilled"], mine["cancelled"]) == (3, 1, 1, 1)
    assert mine["fill_rate"] == 0.5 and mine["avg_turnaround_hours"] is not None
    assert rows[filled["supplier"]]["supplied"] == 1
    assert stats()["network"]["requested"] == 3
    department = headers_for(school.client, "department")
    r = school.client.get("/statistics/monthly", params={"month": "2026-13"}, headers=department)
    assert r.status_code == 422
