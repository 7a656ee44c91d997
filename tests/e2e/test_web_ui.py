"""The librarians' web UI: choose a library, request, answer, follow the timeline."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from composition.bootstrap import System
from tests.e2e.callers import Network
from tests.integration.support import eventually

PASSWORD = "mat-khau-thu-nghiem"


@pytest.fixture
def browser(network: Network) -> TestClient:
    client, _ = network
    eventually(lambda: "HNM-TVT" in client.get("/").text, what="the demo network")
    return client


LIBRARIANS = {"HNM-S-ADT": "thuthu.adt", "HNM-KB": "thuthu.kb", "HNM-DT": "thuthu.dt"}


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
    r = browser.post(
        "/ui/login", data={"username": username, "password": PASSWORD}, follow_redirects=False
    )
    assert r.status_code == 303 and r.headers["location"].startswith("/ui/requests")


def test_a_librarian_requests_and_the_supplier_ships_through_the_ui(browser: TestClient) -> None:
    as_library(browser, "HNM-S-ADT")
    page = browser.get("/ui/requests").text
    assert "Yêu cầu mới" in page and "Truyện Kiều" in page
    r = browser.post(
        "/ui/requests", data={"work": "W-KIEU", "reader_ref": "BD-1"}, follow_redirects=False
    )
    assert r.status_code == 303
    request_path = r.headers["location"].split("?")[0]
    request_id = request_path.rsplit("/", 1)[1]
    eventually(
        lambda: "Đã gửi tới thư viện cung cấp" in browser.get(request_path).text,
        what="the request page",
    )
    page = browser.get(request_path).text
    assert "1. HNM-DT (same locality (Duy Tiên))" in page
    assert "Hủy yêu cầu (Cancel)" in page and "Sẽ cung cấp" not in page  # requester's actions

    as_library(browser, "HNM-DT")
    eventually(lambda: request_id in browser.get("/ui/requests").text, what="incoming queue")
    page = browser.get(request_path).text
    assert "Sẽ cung cấp (WillSupply)" in page and "Hủy yêu cầu" not in page
    version = re.search(r'name="expected_version" value="(\d+)"', page)
    assert version
    r = browser.post(
        f"{request_path}/act",
        data={
            "action": "Loaned",
            "item_id": "HNM-DT-W-KIEU-1",
            "expected_version": version.group(1),
        },
    )
    assert "Đã thực hiện" in r.text
    eventually(lambda: "Đã gửi đi (Loaned)" in browser.get(request_path).text, what="Loaned")
    english = browser.get(f"{request_path}?lang=en").text
    assert "Timeline" in english and "Loaned" in english


def test_a_refused_action_is_explained_on_the_page(browser: TestClient) -> None:
    as_library(browser, "HNM-KB")
    r = browser.post(
        "/ui/requests", data={"work": "W-CHIPHEO", "reader_ref": "BD-2"}, follow_redirects=False
    )
    # The page a command leads to shows the command's own result (read your writes).
    page = browser.get(r.headers["location"]).text
    assert "Hủy yêu cầu (Cancel)" in page and "Chí Phèo" in page
    request_path = r.headers["location"].split("?")[0]
    page = browser.post(f"{request_path}/act", data={"action": "Received"}).text
    assert "Không thực hiện được" in page and "Received is not allowed" in page
    assert "Hủy yêu cầu (Cancel)" in page  # still on the request's page, its actions intact


def test_without_signing_in_the_ui_asks_for_it(browser: TestClient) -> None:
    r = browser.get("/ui/requests", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/?")
    assert "Đăng nhập" in browser.get("/").text
    r = browser.post("/ui/login", data={"username": "thuthu.kb", "password": "wrong password"})
    assert "wrong username or password" in r.text and "Đăng xuất" not in r.text


def test_signing_out_ends_the_session(browser: TestClient) -> None:
    as_library(browser, "HNM-KB")
    assert "Đăng xuất" in browser.get("/ui/requests").text
    browser.post("/ui/logout")
    r = browser.get("/ui/requests", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/?")
