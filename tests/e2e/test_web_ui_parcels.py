"""Shipping through the web UI: the supplier lends with a parcel by post, the carrier's
signed webhook reports the journey, both libraries follow the parcel, print its packing
slip with the waybill as a barcode, and the school receives it; a bad parcel form is
refused in Vietnamese with nothing sent; an expired session returns to its page."""

from __future__ import annotations

import json
import re
import time
import xml.etree.ElementTree as ET

import pytest
from barcode.charsets import code128
from fastapi.testclient import TestClient

from api.auth import UI_COOKIE
from api.partners import sign
from composition.bootstrap import System
from domain.shipment import Shipment
from tests.actors import TESTER
from tests.e2e.callers import Network
from tests.e2e.test_web_ui import as_library, post
from tests.integration.support import eventually

WAYBILL = "EB200000001VN"


@pytest.fixture
def browser(network: Network) -> TestClient:
    client, _ = network
    eventually(lambda: "HNM-TVT" in client.get("/").text, what="the demo network")
    return client


def carrier_says(client: TestClient, secret: str, events: list[dict[str, str]]) -> None:
    body = json.dumps({"events": events}).encode()
    ts = str(int(time.time()))
    r = client.post(
        "/partners/VNPOST/shipment-events",
        content=body,
        headers={
            "X-Libshare-Timestamp": ts,
            "X-Libshare-Signature": sign(secret.encode(), ts, body),
            "content-type": "application/json",
        },
    )
    assert r.status_code == 200 and r.json()["accepted"] == len(events), r.text


def lent_by_post(browser: TestClient, **parcel: str) -> tuple[str, object]:
    """The school asks for Truyện Kiều; the town library lends it with the parcel form."""
    as_library(browser, "HNM-S-ADT")
    r = post(browser, "/ui/requests", data={"work": "W-KIEU", "reader_ref": "BD-5"})
    path = r.url.path
    eventually(lambda: "HNM-DT" in browser.get(path).text, what="the request routed")
    as_library(browser, "HNM-DT")
    eventually(lambda: "Đã gửi đi (Loaned)" in browser.get(path).text, what="the supplier's page")
    version = re.search(r'name="expected_version" value="(\d+)"', browser.get(path).text)
    assert version
    form = {
        "action": "Loaned",
        "expected_version": version.group(1),
        "item_id": "HNM-DT-W-KIEU-1",
        **parcel,
    }
    return path, post(browser, f"{path}/act", data=form)


def decoded(svg: bytes) -> str:
    """Read a Code 128 barcode back from its bars, as a scanner does: bar and space widths
    in modules, six per symbol, looked up in the symbology's table, the checksum checked."""
    rects = [
        r
        for r in ET.fromstring(svg).iter("{http://www.w3.org/2000/svg}rect")
        if r.get("fill") == "black"
    ]
    module = min(float(r.get("width", "0").removesuffix("mm")) for r in rects)
    runs = [  # (x, width) of each bar, in mm
        (float(r.get("x", "0").removesuffix("mm")), float(r.get("width", "0").removesuffix("mm")))
        for r in rects
    ]
    widths: list[int] = []
    for i, (x, w) in enumerate(runs):
        widths.append(round(w / module))
        if i + 1 < len(runs):
            widths.append(round((runs[i + 1][0] - x - w) / module))
    bits = "".join(("1" if i % 2 == 0 else "0") * n for i, n in enumerate(widths))
    table = {pattern: value for value, pattern in enumerate(code128.CODES)}
    symbols = [table[bits[i : i + 11]] for i in range(0, len(bits) - 13, 11)]
    start, *data, check = symbols
    assert check == (start + sum(i * v for i, v in enumerate(data, 1))) % 103, "checksum"
    text, charset = "", {103: "A", 104: "B", 105: "C"}[start]
    for v in data:
        if charset == "C" and v < 100:
            text += f"{v:02d}"
        elif v in (99, 100, 101):
            charset = {99: "C", 100: "B", 101: "A"}[v]
        else:
            text += chr(v + 32) if charset == "B" or v < 64 else chr(v - 64)
    return text


def test_a_parcel_goes_by_post_and_both_libraries_follow_it(browser: TestClient) -> None:
    system: System = browser.app.state.system  # type: ignore[attr-defined]
    _, secret = system.partners.add_partner_secret(TESTER, "VNPOST")
    path, r = lent_by_post(
        browser,
        partner="VNPOST",
        waybill=WAYBILL.lower(),
        weight_grams="850",
        declared_postage="32.000",
    )
    assert "error=" not in str(r.url), r.url
    page = browser.get(path).text
    assert WAYBILL in page and "Đã tạo vận đơn" in page
    parcel_path = re.search(r'href="(/ui/parcels/[0-9a-f-]+)\?', page)
    assert parcel_path
    parcel = parcel_path.group(1)
    eventually(lambda: WAYBILL in browser.get("/ui/parcels").text, what="the parcels page")
    slip = browser.get(f"{parcel}/slip").text
    assert "Phiếu đóng gói" in slip and "Biên bản bàn giao" in slip
    assert "HNM-DT-W-KIEU-1" in slip and "850 g" in slip and "32.000 ₫" in slip  # vi
    assert "32,000 ₫" in browser.get(f"{parcel}/slip?lang=en").text
    browser.get(f"{parcel}/slip?lang=vi")  # back to Vietnamese for what follows
    assert f'src="{parcel}/waybill.svg"' in slip
    image = browser.get(f"{parcel}/waybill.svg")
    assert image.headers["content-type"] == "image/svg+xml"
    assert decoded(image.content) == WAYBILL

    carrier_says(
        browser,
        secret,
        [
            {
                "carrier_event_id": "u1",
                "waybill": WAYBILL,
                "status": "accepted",
                "at": "2026-11-25T09:00:00+07:00",
            },
            {
                "carrier_event_id": "u2",
                "waybill": WAYBILL,
                "status": "in_transit",
                "at": "2026-11-25T14:00:00+07:00",
                "facility": "Bưu cục Phủ Lý",
            },
        ],
    )
    eventually(lambda: "Bưu cục Phủ Lý" in browser.get(parcel).text, what="the journey")
    journey = browser.get(parcel).text.split("Hành trình của kiện")[1]
    assert journey.index("Bưu tá đã nhận") < journey.index("Đang vận chuyển")

    as_library(browser, "HNM-S-ADT")  # the school follows the parcel coming to it
    mine = browser.get("/ui/requests").text
    tile = re.search(r'href="/ui/parcels\?lang=vi"><span class="count">(\d+)</span>', mine)
    assert tile and tile.group(1) == "1"
    carrier_says(
        browser,
        secret,
        [
            {
                "carrier_event_id": "u3",
                "waybill": WAYBILL,
                "status": "delivered",
                "at": "2026-11-26T10:00:00+07:00",
                "signer": "Trần Văn Minh",
            }
        ],
    )
    eventually(lambda: "Trần Văn Minh" in browser.get(parcel).text, what="the delivery")
    assert "Đã giao" in browser.get(parcel).text
    assert WAYBILL not in browser.get("/ui/parcels").text  # delivered: no longer in transit
    english = browser.get(f"{parcel}?lang=en").text
    assert "Delivered" in english and "The parcel&#39;s journey" in english

    as_library(browser, "HNM-KB")  # a library with no part in it does not see the parcel
    r = browser.get(parcel, follow_redirects=False)
    assert r.status_code == 303 and "error=" in r.headers["location"]
    assert browser.get(f"{parcel}/waybill.svg").status_code == 404


def test_a_bad_parcel_is_refused_in_vietnamese_and_nothing_is_sent(browser: TestClient) -> None:
    path, r = lent_by_post(
        browser,
        partner="VNPOST",
        waybill="EB200000002VN",
        weight_grams="0",
        declared_postage="10000",
    )
    assert "Khối lượng là số gam, từ 1 đến 30000" in r.text
    system: System = browser.app.state.system  # type: ignore[attr-defined]
    page = browser.get(path).text
    assert "Đã gửi đi (Loaned)" in page  # still to be sent: the action is offered again
    from eventsourcing.application import AggregateNotFoundError

    try:
        system.app.repository.get(Shipment.id_for("VNPOST", "EB200000002VN"))
        raise AssertionError("a shipment was recorded from a refused form")
    except AggregateNotFoundError:
        pass
    _, r = lent_by_post(browser, partner="", waybill="EB200000003VN", weight_grams="100")
    assert "Hãy chọn đơn vị bưu chính" in r.text


def test_an_expired_session_signs_in_again_and_returns_to_the_page(browser: TestClient) -> None:
    system: System = browser.app.state.system  # type: ignore[attr-defined]
    as_library(browser, "HNM-DT")
    token, _ = system.tokens.issue("thuthu.dt", 1)
    browser.cookies.set(UI_COOKIE, token)
    time.sleep(2.2)
    r = browser.get("/ui/parcels?stuck=true", follow_redirects=False)
    assert r.status_code == 303
    back = r.headers["location"]
    assert "next=%2Fui%2Fparcels%3Fstuck%3Dtrue" in back
    page = browser.get(back).text
    assert "Phiên làm việc đã hết hạn" in page
    assert 'name="next" value="/ui/parcels?stuck=true"' in page
    r = post(
        browser,
        "/ui/login",
        data={
            "username": "thuthu.dt",
            "password": "mat-khau-thu-nghiem",
            "next": "/ui/parcels?stuck=true",
        },
        follow_redirects=False,
    )
    assert r.headers["location"] == "/ui/parcels?stuck=true&lang=vi"
    # Only our own pages are a place to return to.
    r = post(
        browser,
        "/ui/login",
        data={
            "username": "thuthu.dt",
            "password": "mat-khau-thu-nghiem",
            "next": "https://example.org/ui/x",
        },
        follow_redirects=False,
    )
    assert r.headers["location"] == "/ui/requests?lang=vi"


def test_two_loans_to_one_school_go_in_one_parcel_from_the_request_page(
    browser: TestClient,
) -> None:
    as_library(browser, "HNM-S-ADT")
    paths = [
        post(browser, "/ui/requests", data={"work": "W-KIEU", "reader_ref": f"BD-P{n}"}).url.path
        for n in (1, 2)
    ]
    for path in paths:
        eventually(lambda path=path: "HNM-DT" in browser.get(path).text, what="routed")
    as_library(browser, "HNM-DT")
    first, second = paths

    def offered() -> bool:
        return f'name="together_ids" value="{second.rsplit("/", 1)[1]}"' in browser.get(first).text

    eventually(offered, what="the other request offered for the same parcel")
    page = browser.get(first).text
    assert "Cùng kiện" in page
    version = re.search(r'name="expected_version" value="(\d+)"', page)
    assert version
    unposted = post(  # the others named, but no parcel: refused, nothing sent
        browser,
        f"{first}/act",
        data={
            "action": "Loaned",
            "expected_version": version.group(1),
            "item_id": "HNM-DT-W-KIEU-1",
            "together_ids": second.rsplit("/", 1)[1],
            "together_items": "HNM-DT-W-KIEU-2",
        },
    )
    assert "Hãy chọn đơn vị bưu chính" in unposted.text and "Đã gửi đi (Loaned)" in unposted.text
    r = post(
        browser,
        f"{first}/act",
        data={
            "action": "Loaned",
            "expected_version": version.group(1),
            "item_id": "HNM-DT-W-KIEU-1",
            "partner": "VNPOST",
            "waybill": "EB200000009VN",
            "weight_grams": "1500",
            "declared_postage": "40000",
            "together_ids": second.rsplit("/", 1)[1],
            "together_items": "HNM-DT-W-KIEU-2",
        },
    )
    assert "error=" not in str(r.url), r.url
    for path in paths:
        eventually(lambda path=path: "EB200000009VN" in browser.get(path).text, what="the parcel")
        assert "Đã gửi đi" in browser.get(path).text
    parcel = re.search(r'href="(/ui/parcels/[0-9a-f-]+)\?', browser.get(second).text)
    assert parcel
    slip = browser.get(f"{parcel.group(1)}/slip").text
    assert "HNM-DT-W-KIEU-1, HNM-DT-W-KIEU-2" in slip
