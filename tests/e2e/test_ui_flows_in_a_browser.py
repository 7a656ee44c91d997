"""The librarians' whole job in Chromium (Debian's, headless, through Playwright), every
step a click or a typed field: a school librarian finds a work typed without tones and
requests it; the supplier lends it by post; the carrier's signed webhook reports the
journey and the delivery; the school receives it and sends it back by post; the
supplier checks it in. A rotation box is planned, approved by its stage, picked,
dispatched and received there. A digitised work is lent, and a card registered online is
verified at the desk. Every page visited is saved as a screenshot in Vietnamese and in
English at a phone's and a desktop's width, and checked by axe-core (see
test_ui_in_a_browser.py, whose fixtures and helpers this uses)."""

# ruff: noqa: F811 (the fixtures imported from test_ui_in_a_browser are parameters here)
from __future__ import annotations

import json
import time
from typing import Any

import httpx

from api.partners import sign
from composition.bootstrap import System
from tests.actors import TESTER
from tests.e2e.test_ui_in_a_browser import (  # noqa: F401 (fixtures)
    PASSWORD,
    browser,
    pytestmark,
    shoot,
    sign_in,
    site,
    staff,
)
from tests.integration.support import eventually


def both_languages(page: Any, name: str) -> None:
    """Shoot the page in Vietnamese, then in English, and come back to Vietnamese."""
    url = page.url.split("?")[0]
    shoot(page, name)
    page.goto(f"{url}?lang=en")
    shoot(page, name)
    page.goto(f"{url}?lang=vi")


def press(page: Any, button: str) -> None:
    page.click(f"button:has-text('{button}')")
    page.wait_for_load_state()
    assert page.locator("p.flash.error").count() == 0, page.locator("p.flash.error").inner_text()


def carrier(base: str, secret: str, waybill: str, events: list[tuple[str, str, str]]) -> None:
    body = json.dumps(
        {
            "events": [
                {
                    "carrier_event_id": f"{waybill}-{i}",
                    "waybill": waybill,
                    "status": status,
                    "at": at,
                    **({"signer": extra} if status == "delivered" else {"facility": extra}),
                }
                for i, (status, at, extra) in enumerate(events)
            ]
        }
    ).encode()
    ts = str(int(time.time()))
    r = httpx.post(
        f"{base}/partners/VNPOST/shipment-events",
        content=body,
        headers={
            "X-Libshare-Timestamp": ts,
            "X-Libshare-Signature": sign(secret.encode(), ts, body),
            "content-type": "application/json",
        },
    )
    assert r.status_code == 200 and r.json()["accepted"] == len(events), r.text


def send_by_post(page: Any, waybill: str, grams: str) -> None:
    page.select_option("select[name=partner]", "VNPOST")
    page.fill("input[name=waybill]", waybill)
    page.fill("input[name=weight_grams]", grams)
    page.fill("input[name=declared_postage]", "28000")


def test_an_interlibrary_loan_goes_there_and_back_by_post_in_chromium(
    site: tuple[str, System], browser: Any
) -> None:
    base, system = site
    _, secret = system.partners.add_partner_secret(TESTER, "VNPOST")
    staff(system, "ui.adt", "HNM-S-ADT")
    staff(system, "ui.dt", "HNM-DT")
    page = browser.new_page(bypass_csp=True)  # to run axe-core in the page
    sign_in(page, base, "ui.adt")
    page.click("nav a[href^='/ui/catalogue']")

    def found() -> bool:
        page.fill("input[name=q]", "truyen kieu")  # typed without tones
        page.click("form[role=search] button")
        page.wait_for_load_state()
        return page.locator("ol.results strong", has_text="Truyện Kiều").count() >= 1

    eventually(found, what="the search index")
    both_languages(page, "catalogue-results")
    page.goto(f"{base}/ui/catalogue?q=truyen+kieu&lang=vi")
    page.locator("ol.results li", has_text="Truyện Kiều").first.locator(
        "input[name=reader_ref]"
    ).fill("BD-501")
    page.locator("ol.results li", has_text="Truyện Kiều").first.locator("button").click()
    page.wait_for_url("**/ui/requests/*")
    request_url = page.url.split("?")[0]
    page.click("form[action^='/ui/logout'] button")

    sign_in(page, base, "ui.dt")
    page.goto(request_url)
    page.wait_for_selector("button:has-text('(Loaned)')")
    page.fill("input[name=item_id]", "HNM-DT-W-KIEU-1")
    send_by_post(page, "EB400000001VN", "700")
    press(page, "(Loaned)")
    both_languages(page, "request-sent-by-post")
    page.click("a:has-text('EB400000001VN')")
    page.wait_for_url("**/ui/parcels/*")
    parcel_url = page.url.split("?")[0]
    page.click("a[href$='/slip?lang=vi']")
    page.wait_for_function(  # the waybill's barcode image is drawn
        "() => { const i = document.querySelector('img.barcode'); "
        "return i && i.complete && i.naturalWidth > 0; }"
    )
    both_languages(page, "packing-slip")
    page.goto(f"{base}/ui/parcels")
    both_languages(page, "parcels")

    carrier(
        base,
        secret,
        "EB400000001VN",
        [
            ("accepted", "2026-11-25T09:00:00+07:00", "Bưu cục Duy Tiên"),
            ("in_transit", "2026-11-25T15:00:00+07:00", "Bưu cục Phủ Lý"),
            ("delivered", "2026-11-26T10:00:00+07:00", "Nguyễn Thị Nhận"),
        ],
    )
    page.click("form[action^='/ui/logout'] button")
    sign_in(page, base, "ui.adt")

    def delivered() -> bool:
        page.goto(parcel_url)
        return "Nguyễn Thị Nhận" in page.content()

    eventually(delivered, what="the carrier's delivery on the parcel's page")
    both_languages(page, "parcel-journey")
    page.goto(request_url)
    press(page, "(Received)")
    send_by_post(page, "EB400000002VN", "700")
    press(page, "(ShippedReturn)")
    assert "EB400000002VN" in page.content()
    page.click("form[action^='/ui/logout'] button")

    sign_in(page, base, "ui.dt")
    page.click("a[href*='queue=to_check_in']")
    page.click(f"a[href^='{request_url.removeprefix(base)}']")
    press(page, "(LoanCompleted)")  # checked in: ISO 18626 LoanCompleted
    both_languages(page, "request-checked-in")
    timeline = page.locator("table").last.inner_text()
    for said in ("HNM-DT gửi bản HNM-DT-W-KIEU-1", "Nguyễn Thị Nhận"):
        assert said in timeline, timeline


def test_a_rotation_box_digital_loan_and_card_desk_in_chromium(
    site: tuple[str, System], browser: Any
) -> None:
    base, system = site
    staff(system, "ui.kb", "HNM-KB")
    staff(system, "ui.akb", "HNM-S-AKB")
    page = browser.new_page(bypass_csp=True)
    sign_in(page, base, "ui.kb")
    page.click("nav a[href^='/ui/rotations']")
    page.fill("input[name=name]", "Tủ sách thiếu nhi số 1")
    page.fill("textarea[name=copies]", "HNM-KB-W-KIEU-1")
    page.fill("textarea[name=stages]", "HNM-S-AKB 30")
    press(page, "Lập kế hoạch luân chuyển")
    box_url = page.url.split("?")[0]
    both_languages(page, "rotation-planned")
    press(page, "Chuyển tiếp thùng")
    transfer_url = page.url.split("?")[0]
    page.click("form[action^='/ui/logout'] button")

    sign_in(page, base, "ui.akb")
    page.click("nav a[href^='/ui/transfers']")
    both_languages(page, "transfers")
    page.goto(transfer_url)
    press(page, "Duyệt")
    page.click("form[action^='/ui/logout'] button")

    sign_in(page, base, "ui.kb")
    page.goto(transfer_url)
    page.fill("textarea[name=copies]", "HNM-KB-W-KIEU-1")
    press(page, "Lấy bản ra khỏi giá")
    send_by_post(page, "EB400000003VN", "500")
    press(page, "Gửi đi")
    both_languages(page, "transfer-dispatched")
    page.click("form[action^='/ui/logout'] button")

    sign_in(page, base, "ui.akb")
    page.goto(transfer_url)
    page.fill("textarea[name=copies]", "HNM-KB-W-KIEU-1")
    press(page, "Nhận các bản")
    press(page, "Hoàn tất phiếu")

    def at_stage() -> bool:
        page.goto(box_url)
        return "Đang ở điểm dừng" in page.content()

    eventually(at_stage, what="the box at its stage")
    both_languages(page, "rotation-at-stage")
    page.goto(f"{base}/ui/rotations")
    both_languages(page, "rotations")
    page.click("form[action^='/ui/logout'] button")

    sign_in(page, base, "ui.kb")
    page.click("nav a[href^='/ui/digital']")
    both_languages(page, "digital-works")
    page.goto(f"{base}/ui/digital/W-HUONGUOC")
    page.fill("input[name=reader_ref]", "BD-601")
    press(page, "Gửi")
    press(page, "Đường dẫn đọc")
    assert page.locator("a[href^='/viewer/']").count() == 1
    both_languages(page, "digital-pool")

    page.goto(f"{base}/ui/readers/register")
    both_languages(page, "card-registration")
    page.select_option("select[name=home_library]", "HNM-KB")
    page.fill("input[name=name]", "Trần Văn Quầy")
    page.fill("input[name=date_of_birth]", "1990-05-05")
    page.fill("input[name=contact]", "0900 123 456")
    page.click("form[action^='/ui/readers/register'] button")
    card = page.locator("strong", has_text="RD-").first.inner_text()
    shoot(page, "card-registered")
    page.goto(f"{base}/ui/me")
    both_languages(page, "reader-sign-in")
    page.goto(f"{base}/ui/no-such-page")
    both_languages(page, "problem")
    page.goto(f"{base}/ui/desk")
    page.wait_for_selector(f"a:has-text('{card}')")
    both_languages(page, "desk-queue")
    page.click(f"a:has-text('{card}')")
    page.select_option("select[name=method]", "citizen_id_card")
    press(page, "Đã xác minh: kích hoạt thẻ")
    assert "Đang hiệu lực" in page.content()
    both_languages(page, "desk-card")


def test_a_librarian_signs_in_and_requests_with_the_keyboard_alone(
    site: tuple[str, System], browser: Any
) -> None:
    """Tab moves through the fields in order, the focused one shows a visible outline,
    Enter submits: no mouse needed for the core flow."""
    base, system = site
    staff(system, "ui.keys", "HNM-S-ADT")
    page = browser.new_page()
    page.goto(f"{base}/")
    page.focus("input[name=username]")
    page.keyboard.type("ui.keys")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.name") == "password"
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline not in ("", "none"), "the focused field shows no outline"
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url("**/ui/requests**")
    page.focus("input[name=reader_ref]")
    page.keyboard.type("BD-KEY")
    page.keyboard.press("Enter")
    page.wait_for_url("**/ui/requests/*")
    assert page.locator("p.flash.done").is_visible()
