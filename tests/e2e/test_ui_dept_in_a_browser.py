"""The department's and the auditors' pages in a real browser (Debian's Chromium, headless,
through Playwright): the department reads the statistics and downloads a CSV; the
auditor finds a request's story, follows the link to the copy's, looks at the network as
of a past moment and checks the log. Every page is saved as a screenshot in Vietnamese
and English at a phone's and a desktop's width, and axe-core finds no serious
violation on it. Skipped, with the reason, where Chromium is not installed."""

from __future__ import annotations

from typing import Any

import httpx

from composition.bootstrap import System
from infra.clock import utc_now
from tests.e2e.callers import TEST_ADMIN, api_key_for
from tests.e2e.test_ui_in_a_browser import (  # noqa: F401 (the fixtures)
    PASSWORD,
    browser,
    pytestmark,
    shoot,
    site,
)
from tests.integration.support import eventually


def account(system: System, username: str, role: str, library: str | None = None) -> None:
    system.accounts.open_account(
        TEST_ADMIN, username, username, library=library, roles=[role], password=PASSWORD
    )


def sign_in(page: Any, base: str, username: str) -> None:
    page.goto(f"{base}/?lang=vi")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("form[action^='/ui/login'] button")
    page.wait_for_load_state()


def both_languages(page: Any, name: str) -> None:
    """The page as it is (Vietnamese), then in English, then back to Vietnamese."""
    url = page.url.split("#")[0]
    shoot(page, name)
    page.goto(url + ("&" if "?" in url else "?") + "lang=en")
    assert page.locator("html").get_attribute("lang") == "en"
    shoot(page, name)
    page.goto(url + ("&" if "?" in url else "?") + "lang=vi")


def a_loan(base: str, system: System) -> tuple[str, str]:
    """A request of HNM-S-BH sent by HNM-TVT by post, over the served API: its id and
    the copy's barcode."""
    school = {
        "Authorization": "Bearer " + api_key_for(system, "b-bh", "librarian", library="HNM-S-BH")
    }
    provincial = {
        "Authorization": "Bearer " + api_key_for(system, "b-tvt", "librarian", library="HNM-TVT")
    }
    with httpx.Client(base_url=base, timeout=30) as http:
        made = http.post(
            "/requests", json={"work": "W-KIEU", "reader_ref": "BD-0042"}, headers=school
        )
        assert made.status_code in (200, 201), made.text
        request_id = made.json()["id"]
        shipment = {
            "partner": "VNPOST",
            "waybill": "EB400000001VN",
            "declared_postage": "35000",
            "parcels": [{"weight_grams": 600, "contents": ["kieu"]}],
        }
        for n in range(1, 6):
            item = f"HNM-TVT-W-KIEU-{n}"
            body = {"action": "Loaned", "item_id": item, "shipment": shipment}
            if (
                http.post(
                    f"/requests/{request_id}/actions", json=body, headers=provincial
                ).status_code
                == 200
            ):
                return request_id, item
    raise AssertionError("the provincial library could not send Truyện Kiều")


def test_the_department_and_the_auditor_through_their_pages_in_chromium(
    site: tuple[str, System],  # noqa: F811
    browser: Any,  # noqa: F811
) -> None:
    base, system = site
    request_id, copy = a_loan(base, system)
    account(system, "sovhtt.b", "department")
    account(system, "kiemtoan.b", "auditor")
    page = browser.new_page(bypass_csp=True, accept_downloads=True)  # axe-core runs in the page

    sign_in(page, base, "sovhtt.b")
    page.goto(f"{base}/ui/statistics")
    eventually(
        lambda: _has(page, "HNM-TVT"),
        what="the month's figures on the page",
    )
    assert page.locator("svg[role=img] title", has_text="Tỷ lệ đáp ứng").count() == 1
    with page.expect_download() as download:
        page.click("a[href^='/ui/statistics/monthly.csv']")
    assert download.value.suggested_filename == f"libshare-monthly-network-{utc_now():%Y-%m}.csv"
    both_languages(page, "statistics")
    page.click("form[action^='/ui/logout'] button")

    sign_in(page, base, "kiemtoan.b")
    page.goto(f"{base}/ui/audit")
    both_languages(page, "audit")
    page.fill("input[name=ref]", request_id)
    page.click("form[action='/ui/audit/find'] button")
    page.wait_for_url(f"**/ui/audit/requests/{request_id}**")
    assert page.locator("td", has_text=f"HNM-TVT gửi bản {copy}").count() == 1
    both_languages(page, "audit-request")
    page.click(f"a[href^='/ui/audit/copies/{copy}']")
    page.wait_for_url(f"**/ui/audit/copies/{copy}**")
    assert page.locator("td", has_text="Cho HNM-S-BH mượn liên thư viện").count() == 1
    both_languages(page, "audit-copy")

    page.goto(f"{base}/ui/audit/as-of")
    page.fill("input[name=as_of]", utc_now().strftime("%Y-%m-%dT%H:%M:%S"))
    page.select_option("select[name=library]", "HNM-S-BH")
    page.click("form[action='/ui/audit/as-of'] button")
    page.wait_for_url("**/ui/audit/as-of?**")
    assert page.locator("td", has_text="(Loaned)").count() == 1
    both_languages(page, "audit-as-of")

    audit = system.make_audit_log()
    audit.run_once()
    audit.checkpoint()
    page.goto(f"{base}/ui/audit/log")
    page.click("form[action='/ui/audit/log'] button")
    page.wait_for_url("**verify=true**")
    assert page.locator("p.flash.done", has_text="Lịch sử khớp").is_visible()
    both_languages(page, "audit-log")


def _has(page: Any, text: str) -> bool:
    page.reload()
    return text in page.content()
