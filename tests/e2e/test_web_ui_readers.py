"""The readers' pages of the web UI: a person registers online for a card (the number,
the access key shown once and the QR code), the desk verifies them, and on their own
page — proved by the card number and key in a form — they borrow a digitised work, open
the viewer, and return it; a wrong key is refused."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.e2e.callers import Network, api_key_for
from tests.e2e.test_web_ui import post


@pytest.fixture
def served(serve_network: Callable[..., Network], tmp_path: Path) -> Network:
    return serve_network(digital_pages_dir=tmp_path / "pages")


def test_a_reader_registers_online_and_borrows_on_their_own_page(served: Network) -> None:
    client, system = served
    browser: TestClient = client
    form = browser.get("/ui/readers/register").text
    assert "Đăng ký thẻ thư viện" in form and 'name="date_of_birth"' in form
    page = post(
        browser,
        "/ui/readers/register",
        {
            "home_library": "HNM-KB",
            "name": "Phạm Thu Hà",
            "date_of_birth": "1995-03-08",
            "contact": "0987 654 321",
        },
    ).text
    assert "Chờ xác minh" in page and "data:image/svg+xml;base64," in page
    ref = re.search(r"<strong>(RD-[0-9A-Z]{10})</strong>", page)
    key = re.search(r"<code>([A-Za-z0-9_=-]{8,64})</code>", page)
    assert ref and key
    desk = {"Authorization": "Bearer " + api_key_for(system, "u-kb", "librarian", library="HNM-KB")}
    verified = browser.post(
        f"/readers/{ref.group(1)}/activation",
        json={"method": "vneid", "fee_paid": 50_000},
        headers=desk,
    )
    assert verified.json()["status"] == "active"

    proof = {"reader_ref": ref.group(1), "access_key": key.group(1)}
    wrong = post(browser, "/ui/me", {**proof, "access_key": "x" * 32}, follow_redirects=False)
    assert wrong.status_code == 303 and "error=" in wrong.headers["location"]
    mine = post(browser, "/ui/me", proof).text
    assert "Tài liệu số đang mượn" in mine and "<td>W-HUONGUOC</td>" not in mine
    lent = post(browser, "/ui/me", {**proof, "work": "W-HUONGUOC", "action": "borrow"}).text
    assert "Đã thực hiện: Mượn" in lent and "<td>W-HUONGUOC</td>" in lent
    opened = post(browser, "/ui/me", {**proof, "work": "W-HUONGUOC", "action": "link"}).text
    viewer = re.search(r'href="(/viewer/[^"]+/pages/1)"', opened)
    assert viewer and browser.get(viewer.group(1)).status_code == 200
    back = post(browser, "/ui/me", {**proof, "work": "W-HUONGUOC", "action": "return"}).text
    assert "Đã thực hiện: Trả" in back and "<td>W-HUONGUOC</td>" not in back
    assert browser.get(viewer.group(1)).status_code == 410  # the link died with the loan
    refused = post(browser, "/ui/me", {**proof, "work": "W-HUONGUOC", "action": "renew"}).text
    assert "Không thực hiện được" in refused  # no loan to renew: said on the page
