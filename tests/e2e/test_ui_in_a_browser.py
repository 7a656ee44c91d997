"""The web UI in a real browser: Debian's Chromium, headless, driven by Playwright
(`executable_path`), against the app served over HTTP. A school librarian signs in, sees
the dashboard, requests a work for a reader; the supplier signs in, finds it on its
dashboard's queue and sends it; the requester's page tells the story in words. Every
page visited is saved as a screenshot, in Vietnamese and English, at a phone's and a
desktop's width (.cache/screenshots/), and axe-core checks it for serious accessibility
violations. Skipped, with the reason, where Chromium is not
installed (`make test` installs it through apt-get where it can)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from composition.bootstrap import System
from tests.e2e.callers import Network

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = Path(__file__).resolve().parents[2] / ".cache" / "screenshots"
AXE = Path(__file__).resolve().parents[2] / ".cache/axe/node_modules/axe-core/axe.min.js"
FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PASSWORD = "mat-khau-trinh-duyet"
WIDTHS = {"phone": 360, "desktop": 1280}

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="Debian's chromium is not installed (infra/install-chromium.sh)"
)


@pytest.fixture
def site(network: Network) -> Iterator[tuple[str, System]]:
    """The app served over real HTTP on a free port, in a thread."""
    client, system = network
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(client.app, host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "the app did not start serving"
    yield f"http://127.0.0.1:{port}", system
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        yield chromium
        chromium.close()


def staff(system: System, username: str, library: str) -> None:
    system.accounts.open_account(
        {"account": "test-setup", "role": "network_admin"},
        username,
        username,
        library=library,
        roles=["librarian"],
        password=PASSWORD,
    )


def accessible(page: Any, name: str) -> None:
    """axe-core's WCAG 2.1 A and AA rules find no serious or critical violation (where
    axe-core could be installed from the npm registry: infra/install-chromium.sh)."""
    if not AXE.exists():
        return
    page.add_script_tag(path=str(AXE))
    found = page.evaluate("axe.run(document, {runOnly: ['wcag2a', 'wcag2aa', 'wcag21aa']})")
    serious = [
        f"{v['id']}: {v['help']} ({len(v['nodes'])}×, e.g. {v['nodes'][0]['html'][:80]})"
        for v in found["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert serious == [], f"{name}: {serious}"


def shoot(page: Any, name: str) -> None:
    """The page at each width, in the language it is in (saved as a test artefact), and
    its accessibility check."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    lang = page.locator("html").get_attribute("lang")
    accessible(page, f"{name} ({lang})")
    for width_name, width in WIDTHS.items():
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(SHOTS / f"{name}-{lang}-{width_name}.png"), full_page=True)
        overflow = page.evaluate("document.documentElement.scrollWidth > window.innerWidth + 1")
        assert not overflow or width_name == "desktop", f"{name} is wider than a phone"


def sign_in(page: Any, base: str, username: str) -> None:
    page.goto(f"{base}/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("form[action^='/ui/login'] button")
    page.wait_for_url("**/ui/requests**")


def test_a_request_is_made_and_sent_through_the_ui_in_chromium(
    site: tuple[str, System], browser: Any
) -> None:
    base, system = site
    staff(system, "thuthu.adt2", "HNM-S-ADT")
    staff(system, "thuthu.dt2", "HNM-DT")
    page = browser.new_page(bypass_csp=True)  # to run axe-core in the page
    page.goto(f"{base}/")
    shoot(page, "sign-in")
    sign_in(page, base, "thuthu.adt2")
    assert page.locator("h2", has_text="Việc của thư viện").is_visible()
    shoot(page, "dashboard")
    page.select_option("select[name=work]", "W-KIEU")
    page.fill("input[name=reader_ref]", "BD-77")
    page.click("form[action^='/ui/requests'] button")
    page.wait_for_url("**/ui/requests/*")
    request_url = page.url.split("?")[0]
    assert "Đã gửi tới thư viện cung cấp" in page.content()
    shoot(page, "request")
    page.click("form[action^='/ui/logout'] button")

    sign_in(page, base, "thuthu.dt2")
    page.click("a[href*='queue=to_answer']")
    page.click(f"a[href^='{request_url.removeprefix(base)}']")
    page.fill("input[name=item_id]", "HNM-DT-W-KIEU-1")
    page.click("button:has-text('Đã gửi đi (Loaned)')")
    page.wait_for_selector("text=HNM-DT gửi bản HNM-DT-W-KIEU-1")
    assert page.locator("p.flash.done").is_visible()
    shoot(page, "request-loaned")
    page.goto(f"{request_url}?lang=en")
    assert "HNM-DT sent copy HNM-DT-W-KIEU-1" in page.content()
    shoot(page, "request-loaned")
    page.goto(f"{base}/ui/requests")  # English is remembered
    assert page.locator("html").get_attribute("lang") == "en"
    shoot(page, "dashboard")
