"""The department's statistics in the web UI (issue 21, item 6): the figures a person
reads on the page and in its CSV downloads are the statistics API's for the same data,
in Vietnamese and English; a library's staff see their own library only."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.e2e.callers import Librarian, Network, headers_for
from tests.e2e.html_tables import tables
from tests.e2e.ui_sign_in import sign_in_as
from tests.integration.support import eventually


def shipped(client: TestClient, requester: str, supplier: str, waybill: str, postage: str) -> str:
    """A request of `requester` for Truyện Kiều that `supplier` sends by VNPOST."""
    school, library = Librarian(client, requester), Librarian(client, supplier)
    created = school.request("W-KIEU")
    assert created["supplier"] == supplier, created
    library.lend(
        created["id"],
        "W-KIEU",
        shipment={
            "partner": "VNPOST",
            "waybill": waybill,
            "declared_postage": postage,
            "parcels": [{"weight_grams": 900, "contents": [f"{supplier}-1"]}],
        },
    )
    return str(created["id"])


def rotated(client: TestClient) -> None:
    """Two copies of HNM-TVT's on a rotation at HNM-S-BH, received there."""
    home, school = Librarian(client, "HNM-TVT"), Librarian(client, "HNM-S-BH")
    box = ["HNM-TVT-W-CHIPHEO-1", "HNM-TVT-W-CHIPHEO-2"]
    stages = [{"library": "HNM-S-BH", "days": 30}]
    planned = home.post("/rotations", {"name": "Tủ sách 1", "copies": box, "stages": stages})
    assert planned.status_code == 201, planned.text
    moving = home.post(f"/rotations/{planned.json()['id']}/actions", {"action": "advance"})
    tid = moving.json()["transfer_id"]

    def step(who: Librarian, action: str, **params: Any) -> None:
        r = who.post(f"/transfers/{tid}/actions", {"action": action, **params})
        assert r.status_code == 200, r.text

    eventually(lambda: school.get(f"/transfers/{tid}").status_code == 200, what="the transfer")
    step(school, "approve")
    step(home, "pick", copies=box)
    parcel = {"weight_grams": 600, "contents": box}
    waybill = {"partner": "VNPOST", "waybill": "EB200000009VN", "declared_postage": "20000"}
    step(home, "dispatch", shipments=[{**waybill, "parcels": [parcel]}])
    step(school, "receive", copies=box)
    step(school, "close")


@pytest.fixture
def month_of_loans(network: Network) -> tuple[TestClient, dict[str, Any]]:
    """Two loans sent by post (HNM-TVT to HNM-S-BH for 40,000 đ, HNM-DT to HNM-S-ADT for
    25,000 đ), one request still waiting, a rotation's box at HNM-S-BH (its transfer sent
    for 20,000 đ); what the API says of the month then."""
    client, _ = network
    shipped(client, "HNM-S-BH", "HNM-TVT", "EB200000001VN", "40000")
    shipped(client, "HNM-S-ADT", "HNM-DT", "EB200000002VN", "25000")
    Librarian(client, "HNM-S-BH").request("W-TATDEN")
    rotated(client)
    department = headers_for(client, "department")

    def api() -> dict[str, Any]:
        return {
            "monthly": client.get("/statistics/monthly", headers=department).json(),
            "postage": client.get("/postage/statements", headers=department).json(),
            "rotations": client.get("/statistics/rotations", headers=department).json(),
        }

    eventually(
        lambda: (
            api()["monthly"]["network"]["filled"] == 2
            and sum(float(s["cost"]) for s in api()["postage"]) == 85000
            and api()["monthly"]["network"]["postage"] == "85000.00"
            and api()["rotations"]["network"]["copies_at_month_end"] == 2
        ),
        what="the month's statistics",
    )
    return client, api()


def vi_number(value: Any, digits: int = 0) -> str:
    return f"{float(value):,.{digits}f}".replace(",", " ").replace(".", ",").replace(" ", ".")


def test_the_department_reads_the_apis_figures_on_the_page_in_both_languages(
    month_of_loans: tuple[TestClient, dict[str, Any]],
) -> None:
    client, api = month_of_loans
    sign_in_as(client, "sovhtt.ui", "department")
    page = client.get("/ui/statistics")
    assert page.status_code == 200
    assert page.headers["content-security-policy"].startswith("default-src 'self'")
    assert "<h1>Thống kê mạng lưới" in page.text
    found = tables(page.text)
    monthly = found["Yêu cầu mượn trong tháng theo thư viện"]
    assert monthly[0][:3] == ["Thư viện", "Đã yêu cầu", "Được đáp ứng"]
    rows = {r[0]: r for r in monthly[1:]}
    for lib in api["monthly"]["libraries"]:
        row = rows[lib["library"]]
        assert row[1] == str(lib["requested"]) and row[2] == str(lib["filled"])
        expected_rate = (
            "—" if lib["fill_rate"] is None else f"{vi_number(lib['fill_rate'] * 100, 1)} %"
        )
        assert row[6] == expected_rate
        assert row[8] == vi_number(lib["postage"])
    assert rows["HNM-S-BH"][1:3] == ["2", "1"] and rows["HNM-S-BH"][6] == "100,0 %"
    assert rows["HNM-TVT"][8] == "60.000" and rows["HNM-DT"][8] == "25.000"  # loan, box
    assert rows["Toàn mạng lưới"][1] == str(api["monthly"]["network"]["requested"])

    postage = found["Cước bưu chính và hỗ trợ của tỉnh"]
    assert {(r[0], r[3], r[4]) for r in postage[1:]} == {
        (s["library"], vi_number(s["cost"]), vi_number(s["subsidy"])) for s in api["postage"]
    }
    # The charts say their figures: a title, and a description with every value.
    assert page.text.count('<svg role="img"') == 6
    rotations = found["Sách luân chuyển và gửi tặng có thời hạn"][1:]
    assert [(r[0], r[1], r[4]) for r in rotations] == [
        (r["library"], str(r["copies_at_month_end"]), str(r["rotations"]))
        for r in api["rotations"]["libraries"]
    ]
    assert rotations[0][:2] == ["HNM-S-BH", "2"]
    assert "HNM-S-BH: Tỷ lệ đáp ứng 100,0 %" in page.text
    assert "HNM-TVT: Cước (đồng) 60.000" in page.text

    english = client.get("/ui/statistics?lang=en")
    assert "<h1>Network statistics" in english.text
    rows = {r[0]: r for r in tables(english.text)["Requests this month, per library"][1:]}
    assert rows["HNM-S-BH"][6] == "100.0 %" and rows["HNM-TVT"][8] == "60,000"


def read_csv(response: Any) -> list[list[str]]:
    assert response.status_code == 200, response.text[:200]
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.content.startswith("\ufeff".encode())  # Excel reads it as UTF-8
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


def test_each_csv_download_is_the_apis_figures_with_a_file_name(
    month_of_loans: tuple[TestClient, dict[str, Any]],
) -> None:
    client, api = month_of_loans
    sign_in_as(client, "sovhtt.csv", "department")
    month = api["monthly"]["month"]
    r = client.get(f"/ui/statistics/monthly.csv?month={month}")
    assert r.headers["content-disposition"] == (
        f'attachment; filename="libshare-monthly-network-{month}.csv"'
    )
    header, *rows = read_csv(r)
    assert header[:4] == ["Tháng", "Thư viện", "Đã yêu cầu", "Được đáp ứng"]
    by_library = {row[1]: row for row in rows}
    assert set(by_library) == {lib["library"] for lib in api["monthly"]["libraries"]}
    for lib in api["monthly"]["libraries"]:
        row = by_library[lib["library"]]
        assert row[0] == month and int(row[2]) == lib["requested"]
        assert (float(row[7]) if row[7] else None) == lib["fill_rate"]
        assert row[9] == lib["postage"]

    header, *rows = read_csv(client.get("/ui/statistics/postage.csv?lang=en"))
    assert header == ["Month", "Library", "Postal partner", "Shipments", "Cost (VND)",
                      "Subsidy (VND)", "Payable (VND)"]  # fmt: skip
    assert [r[1:] for r in rows] == [
        [s["library"], s["partner"], str(s["shipments"]), s["cost"], s["subsidy"], s["payable"]]
        for s in api["postage"]
    ]
    header, *rows = read_csv(client.get("/ui/statistics/volume.csv"))
    this_month = {r[1]: int(r[2]) for r in rows if r[0] == month}
    assert this_month == {lib["library"]: lib["requested"] for lib in api["monthly"]["libraries"]}
    header, *rows = read_csv(client.get("/ui/statistics/rotations.csv?lang=vi"))
    assert header[1:3] == ["Thư viện", "Số bản cuối tháng"]
    assert [(r[1], int(r[2]), int(r[3]), float(r[4])) for r in rows] == [
        (r["library"], r["copies_at_month_end"], r["copy_days"], r["average_copies"])
        for r in api["rotations"]["libraries"]
    ]


def test_a_librarian_sees_their_own_library_and_no_postage_statement(
    month_of_loans: tuple[TestClient, dict[str, Any]],
) -> None:
    client, api = month_of_loans
    sign_in_as(client, "thuthu.bh.ui", "librarian", library="HNM-S-BH")
    page = client.get("/ui/statistics")
    assert page.status_code == 200
    found = tables(page.text)
    rows = found["Yêu cầu mượn trong tháng theo thư viện"][1:]
    assert [r[0] for r in rows] == ["HNM-S-BH"]  # no other library, no network total
    own = next(lib for lib in api["monthly"]["libraries"] if lib["library"] == "HNM-S-BH")
    assert rows[0][1:3] == [str(own["requested"]), str(own["filled"])]
    assert "Cước bưu chính và hỗ trợ của tỉnh" not in found
    _, *csv_rows = read_csv(client.get("/ui/statistics/monthly.csv"))
    assert [(r[1], int(r[2])) for r in csv_rows] == [("HNM-S-BH", own["requested"])]
    refused = client.get("/ui/statistics/postage.csv", follow_redirects=False)
    assert refused.status_code == 303 and "error=" in refused.headers["location"]
    # The library's administrator reads the library's own postage statement.
    sign_in_as(client, "quantri.tvt.ui", "library_admin", library="HNM-TVT")
    found = tables(client.get("/ui/statistics").text)
    assert [r[0] for r in found["Cước bưu chính và hỗ trợ của tỉnh"][1:]] == ["HNM-TVT"]


def test_bad_months_and_strangers_get_a_clear_message(network: Network) -> None:
    client, _ = network
    r = client.get("/ui/statistics", follow_redirects=False)
    assert r.status_code == 303 and "error=" in r.headers["location"]
    sign_in_as(client, "sovhtt.bad", "department")
    for month in ("2026-13", "2026-1", "2026-11-01", "2" * 500):
        r = client.get("/ui/statistics", params={"month": month})
        assert r.status_code == 200 and "Tháng phải có dạng NNNN-TT" in r.text, month
    assert client.get("/ui/statistics/nothing.csv").status_code == 404
    sign_in_as(client, "vnpost.ui", "postal_partner", partner="VNPOST")
    r = client.get("/ui/statistics")
    assert "Tài khoản của bạn không được xem thống kê." in r.text
