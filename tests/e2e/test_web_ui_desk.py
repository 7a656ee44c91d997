"""The desk and digital lending through the web UI: a card registered online waits in
its home library's verification queue, the librarian sees the reader's data there and
activates it once the identity document is sighted (another library cannot open it); a
librarian lends a digitised work to a reader, opens the viewer link, renews and returns
it, and puts a reader on the waitlist when no copy is free."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.e2e.callers import Network
from tests.e2e.test_web_ui import as_library, post
from tests.integration.support import eventually


@pytest.fixture
def browser(serve_network: Callable[..., Network], tmp_path: Path) -> TestClient:
    client, _ = serve_network(digital_pages_dir=tmp_path / "pages")
    eventually(lambda: "HNM-TVT" in client.get("/").text, what="the demo network")
    return client


def test_a_card_registered_online_is_verified_at_its_home_desk(browser: TestClient) -> None:
    page = post(
        browser,
        "/ui/readers/register",
        {
            "home_library": "HNM-KB",
            "name": "Lê Thị Quầy",
            "date_of_birth": "1988-10-20",
            "contact": "0912 000 111",
        },
    ).text
    ref = re.search(r"<strong>(RD-[0-9A-Z]{10})</strong>", page)
    assert ref
    card = ref.group(1)

    as_library(browser, "HNM-DT")  # not the card's home: not in its queue, not to open
    eventually(lambda: "Quầy thẻ" in browser.get("/ui/desk").text, what="the desk page")
    assert card not in browser.get("/ui/desk").text
    r = browser.get(f"/ui/desk/{card}", follow_redirects=False)
    assert r.status_code == 303 and "error=" in r.headers["location"]

    as_library(browser, "HNM-KB")
    eventually(lambda: card in browser.get("/ui/desk").text, what="the verification queue")
    shown = browser.get(f"/ui/desk/{card}").text
    assert "Lê Thị Quầy" in shown and "1988-10-20" in shown and "Chờ xác minh" in shown
    bad = post(browser, f"/ui/desk/{card}/activate", {"method": "vneid", "fee_paid": "mười"})
    assert "Phí là số đồng" in bad.text and "Chờ xác minh" in bad.text
    done = post(
        browser, f"/ui/desk/{card}/activate", {"method": "citizen_id_card", "fee_paid": "50.000"}
    ).text
    assert "Thẻ đã được kích hoạt" in done and "Đang hiệu lực" in done
    eventually(lambda: card not in browser.get("/ui/desk").text, what="the queue emptied")
    assert card in browser.get("/ui/desk?status=active").text
    suspended = post(browser, f"/ui/desk/{card}/suspend", {"reason": "mất thẻ"}).text
    assert "Tạm khóa" in suspended and 'action="/ui/desk/' + card + "/reinstate" in suspended


def test_a_librarian_lends_a_digital_copy_and_queues_a_reader(browser: TestClient) -> None:
    as_library(browser, "HNM-DT")
    listing = browser.get("/ui/digital").text
    assert 'href="/ui/digital/W-HUONGUOC?lang=vi"' in listing
    page = "/ui/digital/W-HUONGUOC"
    free = int(re.search(r"Số bản cho mượn cùng lúc</th><td>(\d+)", browser.get(page).text)[1])
    assert free >= 1
    for n in range(free):
        lent = post(browser, f"{page}/lend", {"reader_ref": f"BD-D{n}", "reader_type": "adult"})
        assert "Đã cho mượn" in lent.text and f"BD-D{n}" in lent.text, lent.url
    full = post(browser, f"{page}/lend", {"reader_ref": "BD-WAIT", "reader_type": "adult"})
    assert "error=" in str(full.url)  # no copy free: said on the page, nothing lent
    waiting = post(browser, f"{page}/lend", {"reader_ref": "BD-WAIT", "wait": "1"}).text
    assert "Đã xếp vào danh sách chờ" in waiting and "BD-WAIT" in waiting.split("Danh sách chờ")[1]

    loan = re.search(r'action="(/ui/digital/W-HUONGUOC/loans/[0-9a-f-]+)/link', waiting)
    assert loan
    linked = post(browser, f"{loan[1]}/link").text
    viewer = re.search(r'href="(/viewer/[^"]+)"', linked)
    assert viewer and browser.get(viewer[1]).status_code == 200
    renewed = post(browser, f"{loan[1]}/renew")  # not while a reader waits for the work
    assert "error=" in str(renewed.url) and "readers wait for W-HUONGUOC" in renewed.text
    returned = post(browser, f"{loan[1]}/return").text
    assert "Đã ghi nhận" in returned
    queue = returned.split("Danh sách chờ")[1]
    assert re.search(r"<td>BD-WAIT</td><td>\d{4}-\d\d-\d\d \d\d:\d\d</td>", queue), queue
    assert browser.get(viewer[1]).status_code == 410  # the link died with it
    english = browser.get(f"{page}?lang=en").text
    assert "Waitlist" in english and "Lend to a reader" in english
