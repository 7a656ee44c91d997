"""The auditors' pages in the web UI (issue 21, item 6): a request's and a copy's full
story in words with who, why and what else each action did; both as they stood at a
past moment, and the network's queues then, as the as-of API answers; and the
verifiable log's status — the latest signed checkpoint, a witness's cosignature (the
witness a separate process on the real broker), and the full check, which names an
event altered in the database."""

from __future__ import annotations

import base64
import csv
import html
import io
import os
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from composition.bootstrap import System
from infra.clock import utc_now
from tests.e2e.callers import Librarian, Network, auditor
from tests.e2e.html_tables import tables
from tests.e2e.test_web_ui import post
from tests.e2e.ui_sign_in import PASSWORD, sign_in_as
from tests.integration.support import eventually

EVENTS = "Các sự kiện, theo thứ tự"


def caught_up(client: TestClient) -> None:
    me = auditor(client)
    eventually(
        lambda: all(p["lag"] == 0 for p in client.get("/projections", headers=me).json().values()),
        what="the read models",
    )


@pytest.fixture
def lent(network: Network) -> tuple[TestClient, dict[str, Any]]:
    """A school's request made with its own correlation id, then — after a moment an
    auditor will ask about — sent by the provincial library by post."""
    client, _ = network
    school, provincial = Librarian(client, "HNM-S-BH"), Librarian(client, "HNM-TVT")
    made = client.post(
        "/requests",
        json={"work": "W-KIEU", "reader_ref": "BD-0042"},
        headers={**school.headers, "X-Correlation-ID": "phieu-muon-0042"},
    )
    assert made.status_code in (200, 201), made.text
    rid = made.json()["id"]
    caught_up(client)
    # The moment is given to the second, as the form sends it: the next whole second.
    before_loan = (utc_now() + timedelta(seconds=1)).replace(microsecond=0)
    time.sleep((before_loan - utc_now()).total_seconds() + 0.2)
    provincial.lend(
        rid,
        "W-KIEU",
        shipment={
            "partner": "VNPOST",
            "waybill": "EB300000001VN",
            "declared_postage": "30000",
            "parcels": [{"weight_grams": 500, "contents": ["kieu"]}],
        },
    )
    caught_up(client)
    detail = client.get(f"/requests/{rid}", headers=auditor(client)).json()
    item = next(e["data"]["item_id"] for e in detail["timeline"] if e["event"] == "Loaned")
    return client, {
        "id": rid,
        "http": made.headers["X-Request-ID"],
        "before_loan": before_loan.isoformat(),
        "detail": detail,
        "item": item,
    }


def test_a_requests_story_says_who_why_and_what_else_each_action_did(
    lent: tuple[TestClient, dict[str, Any]],
) -> None:
    client, w = lent
    sign_in_as(client, "kiemtoan.ui", "auditor")
    found = client.get(f"/ui/audit/find?ref={w['id']}", follow_redirects=False)
    assert found.headers["location"].startswith(f"/ui/audit/requests/{w['id']}")
    page = client.get(found.headers["location"])
    assert page.status_code == 200 and "Content-Security-Policy" in page.headers
    rows = tables(page.text)[EVENTS][1:]
    assert len(rows) == len(w["detail"]["timeline"])  # every event, none left out
    first = rows[0]
    assert first[2].startswith("HNM-S-BH yêu cầu W-KIEU cho bạn đọc BD-0042")
    assert first[3] == "t-librarian-hnm-s-bh (thủ thư, HNM-S-BH)"
    assert first[4].startswith("Thao tác 1") and "phieu-muon-0042" in first[4]
    assert first[5].startswith(f"yêu cầu HTTP {w['http']}")
    loaned = next(r for r in rows if "(Loaned," in r[2])
    assert loaned[2].startswith(f"HNM-TVT gửi bản {w['item']}") and "Thao tác 2" in loaned[4]
    # What the same action did elsewhere: the copy lent, with a link to its story.
    also = tables(page.text)["1"][1:]
    copy_row = next(r for r in also if "Cho HNM-S-BH mượn liên thư viện" in r[3])
    assert copy_row[0] == "Thao tác 2" and copy_row[2] == f"bản tài liệu {w['item']}"
    assert f'href="/ui/audit/copies/{w["item"]}?lang=vi"' in page.text

    # The same story as a file to save: the page's rows, the ids as recorded.
    saved = client.get(f"/ui/audit/requests/{w['id']}?format=csv")
    assert saved.headers["content-type"] == "text/csv; charset=utf-8"
    assert saved.headers["content-disposition"] == (
        f'attachment; filename="libshare-story-request-{w["id"]}.csv"'
    )
    header, *lines = csv.reader(io.StringIO(saved.content.decode("utf-8-sig")))
    assert header[:5] == ["#", "Lúc (UTC)", "event", "version", "Việc"]
    assert [(r[2], int(r[3])) for r in lines] == [
        (e["event"], e["version"]) for e in w["detail"]["timeline"]
    ]
    assert lines[0][4] == first[2].rsplit(" (", 1)[0] and lines[0][7] == "phieu-muon-0042"
    assert lines[0][9] == w["detail"]["timeline"][0]["cause"]["event_id"]

    english = client.get(f"/ui/audit/requests/{w['id']}?lang=en").text
    rows = tables(english)["The events, in order"][1:]
    assert rows[0][2].startswith("HNM-S-BH asked for W-KIEU for reader BD-0042")
    assert rows[0][5].startswith(f"HTTP request {w['http']}")


def test_a_copy_and_the_network_as_they_stood_before_the_loan(
    lent: tuple[TestClient, dict[str, Any]],
) -> None:
    client, w = lent
    sign_in_as(client, "kiemtoan.asof", "auditor")
    copy_page = client.get(f"/ui/audit/copies/{w['item']}").text
    rows = tables(copy_page)[EVENTS][1:]
    assert rows[0][2].startswith(f"Đăng ký bản {w['item']} của tài liệu W-KIEU, thuộc HNM-TVT")
    assert rows[-1][2].startswith("Cho HNM-S-BH mượn liên thư viện")
    assert f'href="/ui/audit/requests/{w["id"]}?lang=vi"' in copy_page

    saved = client.get(f"/ui/audit/copies/{w['item']}?format=csv")
    assert saved.headers["content-disposition"].endswith(f'"libshare-story-copy-{w["item"]}.csv"')
    _, *lines = csv.reader(io.StringIO(saved.content.decode("utf-8-sig")))
    assert [r[2] for r in lines] == ["Registered", "LentOnIll"]
    assert lines[1][4] == "Cho HNM-S-BH mượn liên thư viện"

    at = w["before_loan"]
    then = client.get(f"/ui/audit/requests/{w['id']}", params={"as_of": at[:19]}).text
    api = client.get(
        f"/audit/as-of/aggregates/{w['id']}", params={"as_of": at}, headers=auditor(client)
    ).json()
    assert api["state"]["status"] == "RequestReceived"
    assert f"phiên bản {api['version']}" in then and "(RequestReceived)" in then
    shown = tables(then)[EVENTS][1:]
    assert len(shown) == api["version"] < len(w["detail"]["timeline"])
    assert not any("(Loaned," in r[2] for r in shown)
    assert "sự kiện sau thời điểm này (không hiện): " in then

    queue_api = client.get(
        "/audit/as-of/requests",
        params={"as_of": at, "library": "HNM-S-BH"},
        headers=auditor(client),
    ).json()
    network = client.get("/ui/audit/as-of", params={"as_of": at[:19], "library": "HNM-S-BH"})
    assert network.status_code == 200
    outgoing = tables(network.text)["0"][1:]
    assert [(r[1], r[2]) for r in outgoing] == [
        (q["supplier"], "Đã gửi tới thư viện cung cấp (RequestReceived)") for q in queue_api
    ]
    bad = client.get("/ui/audit/as-of?as_of=2999-01-01T00:00", follow_redirects=True)
    assert "Thời điểm này chưa tới." in bad.text
    bad = client.get("/ui/audit/as-of?as_of=hôm-qua", follow_redirects=True)
    assert "Thời điểm phải có dạng" in bad.text


def words(page: str) -> str:
    """A page's text as a person reads it: no tags, one space between words."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split()).replace(" :", ":")


def witness(name: str, folder: Path, vkey: str, prefix: str, bootstrap: str) -> None:
    """A witness, run as its own process, as production runs it: cosign what it reads."""
    env = {
        **os.environ,
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "LIBSHARE_KAFKA_TOPIC_PREFIX": prefix,
        "LIBSHARE_LOG_LEVEL": "WARNING",
    }
    done = subprocess.run(
        [sys.executable, "-m", "api", "audit", "witness", "--name", name, "--state",
         str(folder), "--log-key", vkey, "--once"],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.kafka
def test_the_log_page_shows_the_checkpoint_the_witness_and_catches_an_altered_event(
    serve_network: Callable[..., Network],
    make_system: Callable[..., System],
    kafka_bootstrap: str,
    tmp_path: Path,
) -> None:
    key = base64.b64encode(bytes(range(1, 33))).decode()
    client, system = serve_network(audit_signing_key=key)
    # The log's worker publishes checkpoints to Kafka, where the witness reads them.
    prefix = f"test-{uuid.uuid4().hex[:10]}"
    worker = make_system(
        kafka_bootstrap_servers=kafka_bootstrap, kafka_topic_prefix=prefix, audit_signing_key=key
    )
    audit = worker.make_audit_log()
    audit.run_once()
    held = audit.checkpoint()
    assert held is not None
    audit.publish_pending()
    witness("witness.hnm-dt", tmp_path / "dt", system.signer().vkey, prefix, kafka_bootstrap)

    def cosigned() -> bool:
        audit.publish_pending()  # also stores the cosignatures the witness published
        return "witness.hnm-dt: hợp lệ" in words(client.get("/ui/audit/log").text)

    sign_in_as(client, "kiemtoan.log", "auditor")
    eventually(cosigned, what="the witness's cosignature on the page")
    page = client.get("/ui/audit/log").text
    api = client.get("/audit/checkpoint", headers=auditor(client)).json()
    facts = {r[0]: r[1] for r in tables(page)["1"]}
    assert facts["Kích thước (số sự kiện)"] == str(api["size"]) == str(held.size)
    assert facts["Gốc cây Merkle (base64)"] == base64.b64encode(held.root).decode()
    assert facts["Chữ ký của nhật ký"] == "hợp lệ"

    checked = client.get("/ui/audit/log?verify=true").text
    assert "Lịch sử khớp với mọi điểm kiểm tra đã ký" in checked

    # Someone with the database's password alters a logged event.
    with system.db.transaction() as conn:
        conn.execute(
            "UPDATE libshare_events SET state = state || ' '::bytea WHERE notification_id = "
            "(SELECT notification_id FROM audit_leaves WHERE leaf_index = 7)"
        )
    caught = words(client.get("/ui/audit/log?verify=true&lang=en").text)
    assert "MISMATCH: leaf 7:" in caught and "was altered after it was logged" in caught


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_every_department_and_audit_page_renders_in_both_languages(
    lent: tuple[TestClient, dict[str, Any]], lang: str
) -> None:
    """A text missing from api/i18n.py fails its page (api/ui_words.py): each page of
    the department's and the auditors' is rendered here, with figures on it."""
    client, w = lent
    sign_in_as(client, f"kiemtoan.{lang}", "auditor")
    at = w["before_loan"][:19]
    pages = [
        "/ui/statistics",
        "/ui/audit",
        f"/ui/audit/requests/{w['id']}",
        f"/ui/audit/requests/{w['id']}?as_of={at}",
        f"/ui/audit/copies/{w['item']}",
        f"/ui/audit/copies/{w['item']}?as_of={at}",
        "/ui/audit/as-of",
        f"/ui/audit/as-of?as_of={at}&library=HNM-S-BH",
        "/ui/audit/log",
        "/ui/audit/log?verify=true",
    ]
    for path in pages:
        page = client.get(path, params={"lang": lang})
        assert page.status_code == 200, path
        assert f'<html lang="{lang}">' in page.text and "error=" not in str(page.url), path
    for table in ("monthly", "volume", "postage", "rotations"):
        assert client.get(f"/ui/statistics/{table}.csv", params={"lang": lang}).status_code == 200


def test_bad_references_and_moments_get_a_clear_message(network: Network) -> None:
    client, _ = network
    sign_in_as(client, "kiemtoan.bad", "auditor")
    said = {
        "/ui/audit/find?ref=!!": "Hãy nhập mã yêu cầu (UUID) hoặc mã vạch",
        "/ui/audit/find?ref=": "Hãy nhập mã yêu cầu (UUID) hoặc mã vạch",
        "/ui/audit/copies/NO-SUCH-COPY": "NO-SUCH-COPY: không tìm thấy",
        f"/ui/audit/requests/{uuid.UUID(int=7)}": "không tìm thấy",
        "/ui/audit/copies/HNM-TVT-W-KIEU-1?as_of=" + "9" * 300: "Thời điểm phải có dạng",
        "/ui/audit/as-of?as_of=2026-02-30T10:00": "Thời điểm phải có dạng",
    }
    for path, message in said.items():
        r = client.get(path)
        assert r.status_code == 200 and message in r.text, path
    # A library the network does not have: the first one's queues instead, no error.
    r = client.get("/ui/audit/as-of?as_of=2026-01-01T00:00&library=NOWHERE")
    assert r.status_code == 200 and "selected>HNM-" in r.text


def test_an_auditor_signed_out_returns_to_the_page_after_signing_in(network: Network) -> None:
    """The auditors' and the department's pages send someone not signed in to the sign-in
    form as the librarians' pages do, and back to the page asked for afterwards."""
    client, _ = network
    sign_in_as(client, "kiemtoan.back", "auditor")
    client.cookies.clear()
    pages = {
        "/ui/audit/as-of?as_of=2026-01-01T00:00": "/ui/audit/as-of?as_of=2026-01-01T00%3A00",
        "/ui/statistics?month=2026-01": "/ui/statistics?month=2026-01",
    }
    for page, kept in pages.items():
        r = client.get(page, follow_redirects=False)
        assert r.status_code == 303, page
        form = client.get(r.headers["location"]).text
        assert "Vui lòng đăng nhập" in form, page
        assert f'name="next" value="{html.escape(kept)}"' in form, page
    back = post(
        client,
        "/ui/login",
        data={"username": "kiemtoan.back", "password": PASSWORD, "next": "/ui/audit/as-of"},
        follow_redirects=False,
    )
    assert back.status_code == 303 and back.headers["location"].startswith("/ui/audit/as-of")
