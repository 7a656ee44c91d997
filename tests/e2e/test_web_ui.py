"""The librarians' web UI: choose a library, request, answer, follow the timeline."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.ui_guard import CSRF_COOKIE
from composition.bootstrap import System
from tests.e2e.callers import Network
from tests.integration.support import eventually

PASSWORD = "mat-khau-thu-nghiem"


@pytest.fixture
def browser(network: Network) -> TestClient:
    client, _ = network
    eventually(lambda: "HNM-TVT" in client.get("/").text, what="the demo network")
    return client


def post(browser: TestClient, path: str, data: dict[str, str] | None = None, **kw: Any) -> Any:
    """Submit a form as the browser does: with the CSRF token its pages carry."""
    token = browser.cookies.get(CSRF_COOKIE) or csrf_of(browser.get("/").text)
    return browser.post(path, data={**(data or {}), "csrf": token}, **kw)


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found, "the page's forms carry no CSRF token"
    return found.group(1)


LIBRARIANS = {
    "HNM-S-ADT": "thuthu.adt",
    "HNM-S-AKB": "thuthu.akb",
    "HNM-KB": "thuthu.kb",
    "HNM-DT": "thuthu.dt",
}


def as_library(browser: TestClient, code: str) -> None:
    """Sign in as a librarian of `code` (a password account, as people have)."""
    username = LIBRARIANS[code]
    system: System = browser.app.state.system  # type: ignore[attr-defined]
    system.accounts.open_account(
        {"account": "test-setup", "role": "network_admin"},
        username,
        username,
        library=code,
        roles=["librarian"],
        password=PASSWORD,
    )
    r = post(
        browser,
        "/ui/login",
        data={"username": username, "password": PASSWORD},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"].startswith("/ui/requests")


def test_a_librarian_requests_and_the_supplier_ships_through_the_ui(browser: TestClient) -> None:
    as_library(browser, "HNM-S-ADT")
    page = browser.get("/ui/requests").text
    assert "Yêu cầu mới" in page and "Truyện Kiều" in page
    r = post(
        browser,
        "/ui/requests",
        data={"work": "W-KIEU", "reader_ref": "BD-1"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    request_path = r.headers["location"].split("?")[0]
    request_id = request_path.rsplit("/", 1)[1]
    eventually(
        lambda: "Đã gửi tới thư viện cung cấp" in browser.get(request_path).text,
        what="the request page",
    )
    page = browser.get(request_path).text
    assert "1. HNM-DT (cùng địa bàn (Duy Tiên))" in page
    assert "Hủy yêu cầu (Cancel)" in page and "Sẽ cung cấp" not in page  # requester's actions

    as_library(browser, "HNM-DT")
    eventually(lambda: request_id in browser.get("/ui/requests").text, what="incoming queue")
    # The dashboard: a count with its oldest item's age, linked to its queue.
    home = browser.get("/ui/requests").text
    tile = re.search(r'queue=to_answer[^>]*><span class="count">(\d+)</span>', home)
    assert tile and int(tile.group(1)) >= 1 and "lâu nhất" in home
    assert request_id in browser.get("/ui/requests?queue=to_answer").text
    assert request_id not in browser.get("/ui/requests?queue=to_ship").text
    page = browser.get(request_path).text
    assert "Sẽ cung cấp (WillSupply)" in page and "Hủy yêu cầu" not in page
    version = re.search(r'name="expected_version" value="(\d+)"', page)
    assert version
    r = post(
        browser,
        f"{request_path}/act",
        data={
            "action": "Loaned",
            "item_id": "HNM-DT-W-KIEU-1",
            "expected_version": version.group(1),
        },
    )
    assert "Đã thực hiện" in r.text
    eventually(lambda: "Đã gửi đi (Loaned)" in browser.get(request_path).text, what="Loaned")
    # The timeline in words, with who acted; no raw event data.
    page = browser.get(request_path).text
    assert "HNM-DT gửi bản HNM-DT-W-KIEU-1; hạn trả" in page
    assert "thuthu.dt (thủ thư, HNM-DT)" in page and '{"supplier"' not in page
    english = browser.get(f"{request_path}?lang=en").text
    assert "Timeline" in english and "Loaned" in english


def test_a_refused_action_is_explained_on_the_page(browser: TestClient) -> None:
    as_library(browser, "HNM-KB")
    r = post(
        browser,
        "/ui/requests",
        data={"work": "W-CHIPHEO", "reader_ref": "BD-2"},
        follow_redirects=False,
    )
    # The page a command leads to shows the command's own result (read your writes).
    page = browser.get(r.headers["location"]).text
    assert "Hủy yêu cầu (Cancel)" in page and "Chí Phèo" in page
    request_path = r.headers["location"].split("?")[0]
    page = post(browser, f"{request_path}/act", data={"action": "Received"}).text
    assert "Không thực hiện được" in page and "«Đã nhận (Received)»" in page
    assert "chỉ được khi ở trạng thái: Đã gửi đi (Loaned)" in page  # in Vietnamese, in words
    assert "Hủy yêu cầu (Cancel)" in page  # still on the request's page, its actions intact
    english = post(browser, f"{request_path}/act?lang=en", data={"action": "Received"}).text
    assert "Not allowed: “Received (Received)” while the state is" in english


def test_without_signing_in_the_ui_asks_for_it(browser: TestClient) -> None:
    r = browser.get("/ui/requests", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/?")
    assert "Đăng nhập" in browser.get("/").text
    r = post(browser, "/ui/login", data={"username": "thuthu.kb", "password": "wrong password"})
    assert "wrong username or password" in r.text and "Đăng xuất" not in r.text


def test_signing_out_ends_the_session(browser: TestClient) -> None:
    as_library(browser, "HNM-KB")
    assert "Đăng xuất" in browser.get("/ui/requests").text
    post(browser, "/ui/logout")
    r = browser.get("/ui/requests", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/?")


def test_a_form_without_its_csrf_token_is_refused_and_changes_nothing(
    browser: TestClient,
) -> None:
    as_library(browser, "HNM-KB")
    forged = browser.post(
        "/ui/requests",
        data={"work": "W-CHIPHEO", "reader_ref": "BD-3", "csrf": "x" * 43},
        follow_redirects=False,
    )
    assert forged.status_code == 303 and "error=" in forged.headers["location"]
    assert "BD-3" not in browser.get("/ui/requests").text
    assert "hết hạn" in browser.get(forged.headers["location"]).text


def test_pages_are_vietnamese_first_and_carry_security_headers(browser: TestClient) -> None:
    page = browser.get("/", headers={"Accept-Language": "en-US,en;q=0.9"})
    assert '<html lang="vi">' in page.text  # a browser's English does not switch it
    csp = page.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp
    assert "unsafe-inline" not in csp and "<style>" not in page.text
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["referrer-policy"] == "same-origin"
    assert browser.get("/ui/static/ui.css").status_code == 200
    font = browser.get("/ui/fonts/regular.ttf")  # every Vietnamese diacritic, served by us
    assert font.status_code == 200 and font.headers["content-type"] == "font/ttf"
    assert '<html lang="en">' in browser.get("/?lang=en").text
    assert '<html lang="en">' in browser.get("/").text  # the choice is remembered


def test_a_librarian_finds_a_work_typed_without_tones_and_requests_it(
    browser: TestClient,
) -> None:
    as_library(browser, "HNM-S-ADT")
    found = browser.get("/ui/catalogue", params={"q": "truyen kieu"}).text
    assert "<strong>Truyện Kiều</strong>" in found and "HNM-DT: " in found
    assert "Không tìm thấy" in browser.get("/ui/catalogue", params={"q": "khong co"}).text
    r = post(
        browser,
        "/ui/requests",
        {"work": "W-KIEU", "reader_ref": "BD-5"},
        follow_redirects=False,
    )
    assert r.status_code == 303 and "/ui/requests/" in r.headers["location"]
    english = browser.get("/ui/catalogue", params={"q": "TRUYỆN KIỀU", "lang": "en"}).text
    assert "Request for a reader" in english and "Truyện Kiều" in english


def test_a_malformed_page_request_gets_a_page_in_words_not_json(browser: TestClient) -> None:
    as_library(browser, "HNM-KB")
    # The search form's "any kind" is an empty choice: it filters nothing.
    any_kind = browser.get("/ui/catalogue?q=truyen+kieu&kind=&lang=vi")
    assert any_kind.status_code == 200 and "Danh mục liên hợp" in any_kind.text
    bad = browser.get("/ui/catalogue?q=kieu&offset=abc")
    assert bad.status_code == 422 and bad.headers["content-type"].startswith("text/html")
    assert "Biểu mẫu thiếu thông tin hoặc có ô không hợp lệ: offset" in bad.text
    assert bad.headers["content-security-policy"].startswith("default-src 'self'")
    missing = post(browser, "/ui/requests", data={"work": "W-KIEU"})  # no reader
    assert missing.status_code == 422 and "reader_ref" in missing.text
    nowhere = browser.get("/ui/no-such-page?lang=en")
    assert nowhere.status_code == 404 and "There is no such page" in nowhere.text
    assert (
        browser.get("/requests/not-a-uuid")
        .headers["content-type"]
        .startswith("application/problem+json")
    )  # the API keeps answering machines in problem+json


def test_auditors_and_the_department_land_on_their_own_pages(browser: TestClient) -> None:
    system: System = browser.app.state.system  # type: ignore[attr-defined]
    for username, role, page in (
        ("ui.kiemtoan", "auditor", "/ui/audit"),
        ("ui.sovhtt", "department", "/ui/statistics"),
    ):
        system.accounts.open_account(
            {"account": "test-setup", "role": "network_admin"},
            username,
            username,
            roles=[role],
            password=PASSWORD,
        )
        r = post(browser, "/ui/login", data={"username": username, "password": PASSWORD})
        assert r.url.path == page and "error=" not in str(r.url), r.url
