"""Transfers and rotation boxes through the web UI: a library proposes a transfer, the
receiver approves it, the sender picks and dispatches it by post, the receiver receives
it with a damaged copy and closes it, and both handover records open; a rotation box is
planned, sent on to its first stage and received there. Every step is a form on the
page, the buttons are those the library's side may use now."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from tests.e2e.callers import Network
from tests.e2e.test_web_ui import as_library, post
from tests.integration.support import eventually


@pytest.fixture
def browser(network: Network) -> TestClient:
    client, _ = network
    eventually(lambda: "HNM-TVT" in client.get("/").text, what="the demo network")
    return client


def step(browser: TestClient, page: str, action: str, **form: str) -> str:
    """Press a step's button on `page` (it must be offered there) and return the page."""
    shown = browser.get(page).text
    assert f'name="action" value="{action}"' in shown, f"{action} is not offered on {page}"
    r = post(browser, f"{page}/act", data={"action": action, **form})
    assert "error=" not in str(r.url), f"{action}: {r.url}"
    return r.text


def test_a_transfer_goes_through_the_ui_from_proposal_to_close(browser: TestClient) -> None:
    as_library(browser, "HNM-KB")
    r = post(
        browser,
        "/ui/transfers",
        data={
            "receiver": "HNM-DT",
            "reason": "manual",
            "copies": "hnm-kb-w-tatden-1\nHNM-KB-W-KIEU-1\n",
            "note": "bổ sung kho",
        },
    )
    page = r.url.path
    assert re.fullmatch(r"/ui/transfers/[0-9a-f-]{36}", page), r.url
    assert "Chờ duyệt" in r.text and "HNM-KB-W-TATDEN-1" in r.text
    assert 'value="pick"' not in r.text  # nothing to pick before it is approved

    as_library(browser, "HNM-DT")
    eventually(lambda: page in browser.get("/ui/transfers?approve=true").text, what="the queue")
    shown = step(browser, page, "approve")
    assert "Đã duyệt" in shown

    as_library(browser, "HNM-KB")
    shown = step(browser, page, "pick", copies="HNM-KB-W-TATDEN-1 HNM-KB-W-KIEU-1")
    assert shown.count("<td>Đã lấy ra</td>") == 2
    refused = post(
        browser,
        f"{page}/act",
        data={"action": "dispatch", "partner": "VNPOST", "waybill": "x", "weight_grams": "900"},
    )
    assert "Số vận đơn gồm 6 đến 40" in refused.text
    shown = step(
        browser,
        page,
        "dispatch",
        partner="VNPOST",
        waybill="EB300000001VN",
        weight_grams="900",
        declared_postage="25000",
    )
    assert "Đang vận chuyển" in shown and "EB300000001VN" in shown
    assert f"{page}/handover/dispatch.pdf" in shown
    pdf = browser.get(f"{page}/handover/dispatch.pdf")
    assert pdf.content.startswith(b"%PDF") and pdf.headers["x-handover-hash-matches"] == "true"

    as_library(browser, "HNM-DT")
    shown = step(
        browser,
        page,
        "receive",
        copies="HNM-KB-W-TATDEN-1",
        damaged="HNM-KB-W-KIEU-1 rách bìa",
    )
    assert "Nhận, bị hư hỏng" in shown and "rách bìa" in shown
    shown = step(browser, page, "close")
    assert "Đã hoàn tất" in shown
    assert browser.get(f"{page}/handover/receipt.pdf").content.startswith(b"%PDF")
    timeline = shown.split("Diễn biến")[1]
    for said in ("Đề nghị điều chuyển", "Đã lấy bản ra khỏi giá", "Đã gửi đi", "Hoàn tất"):
        assert said in timeline
    assert "Closed" in browser.get(f"{page}?lang=en").text

    as_library(browser, "HNM-S-ADT")  # not a party: the transfer is not shown
    r = browser.get(page, follow_redirects=False)
    assert r.status_code == 303 and "error=" in r.headers["location"]
    assert browser.get(f"{page}/handover/dispatch.pdf").status_code == 404


def test_a_rotation_box_is_planned_sent_on_and_received_at_its_stage(browser: TestClient) -> None:
    as_library(browser, "HNM-KB")
    bad = post(
        browser,
        "/ui/rotations",
        data={"name": "Tủ sách 1", "copies": "HNM-KB-W-KIEU-1", "stages": "HNM-S-AKB ba"},
    )
    assert "Mỗi điểm dừng là một mã thư viện và số ngày" in bad.text
    r = post(
        browser,
        "/ui/rotations",
        data={"name": "Tủ sách thiếu nhi", "copies": "HNM-KB-W-KIEU-1", "stages": "HNM-S-AKB 30"},
    )
    box = r.url.path
    assert re.fullmatch(r"/ui/rotations/[0-9a-f-]{36}", box), r.url
    assert "Tủ sách thiếu nhi" in r.text and "HNM-S-AKB (30 ngày)" in r.text
    r = post(browser, f"{box}/act", data={"action": "advance"})
    transfer = r.url.path
    assert transfer.startswith("/ui/transfers/"), r.url
    assert "Luân chuyển" in r.text and "Chờ duyệt" in r.text
    as_library(browser, "HNM-S-AKB")  # the stage's library agrees to take the box
    step(browser, transfer, "approve")
    as_library(browser, "HNM-KB")
    step(browser, transfer, "pick", copies="HNM-KB-W-KIEU-1")
    step(
        browser, transfer, "dispatch", partner="VNPOST", waybill="EB300000002VN", weight_grams="400"
    )
    as_library(browser, "HNM-S-AKB")
    step(browser, transfer, "receive", copies="HNM-KB-W-KIEU-1")
    step(browser, transfer, "close")

    def at_stage() -> str:
        return browser.get(box).text

    eventually(lambda: "Đang ở điểm dừng" in at_stage(), what="the box at its stage")
    shown = at_stage()
    assert 'value="extend"' in shown and 'value="recall"' not in shown  # the holder's steps
    rows = browser.get("/ui/rotations").text
    assert "Tủ sách thiếu nhi" in rows


def test_a_copy_dropped_from_a_transfer_says_why(browser: TestClient) -> None:
    as_library(browser, "HNM-KB")
    r = post(
        browser,
        "/ui/transfers",
        data={
            "receiver": "HNM-DT",
            "reason": "manual",
            "copies": "HNM-KB-W-TATDEN-1 HNM-KB-W-KIEU-1",
        },
    )
    page = r.url.path
    as_library(browser, "HNM-DT")
    eventually(lambda: 'value="approve"' in browser.get(page).text, what="the receiver's page")
    step(browser, page, "approve")
    as_library(browser, "HNM-KB")
    shown = step(browser, page, "drop", copy="HNM-KB-W-KIEU-1", reason="bìa rách, giữ lại sửa")
    assert "<td>Đã bỏ khỏi phiếu</td><td>bìa rách, giữ lại sửa</td>" in shown
