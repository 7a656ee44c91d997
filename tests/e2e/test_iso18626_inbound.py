"""ISO 18626 messages from an outside peer, over HTTP: answered with the standard
confirmation; malformed, unknown-agency and out-of-state messages get their ERROR and
change nothing; a retry answers as the first did; the third-party samples are accepted
or refused as their confirmations say."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from lxml import etree

from api.app import create_app
from composition.bootstrap import System
from domain.access import DEMO_LOADER
from domain.errors import NotFound
from infra.iso18626_xml import Header, Schemas, build_request, build_requesting, read_confirmation
from services.iso_inbound import peer_request_id
from services.iso_peers import SECRET_HEADER
from tests.e2e.callers import Librarian, network_admin
from tests.e2e.iso_world import MESSAGES, SECRET, build_network, need_interop

WORK = "W-KIEU"
NOW = "2026-12-02T02:00:00Z"


@pytest.fixture
def served(make_system: Callable[..., System]) -> Iterator[tuple[TestClient, System]]:
    system = make_system(iso18626_xsd_dir=need_interop())
    build_network(system, "LIB-B", "EXT-A", "http://127.0.0.1:9/iso18626", WORK)
    with TestClient(create_app(system=system)) as client:
        yield client, system


def post(client: TestClient, body: bytes, secret: str = SECRET) -> tuple[int, tuple[str, ...]]:
    r = client.post("/iso18626", content=body, headers={SECRET_HEADER: secret})
    return r.status_code, read_confirmation(r.content)


def header(their: str, ts: str = NOW) -> Header:
    return Header(("ISIL", "LIB-B"), ("ISIL", "EXT-A"), ts, their)


def new_request(their: str = "A-1", generation: str = "2021", ts: str = NOW) -> bytes:
    return build_request(
        generation, header(their, ts), work=WORK, title="Truyện Kiều", service_type="Loan"
    )


def version(system: System, their: str) -> int:
    return int(system.requests.get_request(peer_request_id("EXT-A", their)).version)


def test_a_request_from_the_peer_opens_a_request_with_our_library(
    served: tuple[TestClient, System],
) -> None:
    client, system = served
    for generation, their in (("2021", "A-1"), ("2017", "A-2")):
        assert post(client, new_request(their, generation)) == (200, ("OK", "", ""))
        req = system.requests.get_request(peer_request_id("EXT-A", their))
        assert (req.requester, req.supplier, req.status.value) == (
            "EXT-A",
            "LIB-B",
            "RequestReceived",
        )
    # a retry of the same message answers OK again and records nothing
    before = version(system, "A-1")
    assert post(client, new_request("A-1")) == (200, ("OK", "", ""))
    assert version(system, "A-1") == before
    # the same id again, in a new message: refused
    status, (answer, kind, value) = post(client, new_request("A-1", ts="2026-12-02T03:00:00Z"))
    assert (status, answer, kind) == (200, "ERROR", "UnrecognisedDataValue")
    assert "exists already" in value
    # our librarian sees it and answers it; the messages are kept verbatim
    lib = Librarian(client, "LIB-B")
    rid = str(peer_request_id("EXT-A", "A-1"))
    assert lib.get(f"/requests/{rid}/iso18626").json()["messages"][0]["status"] == "OK"
    assert lib.get(f"/requests/{rid}/iso18626").json()["messages"][0]["message"].startswith("<?xml")


def test_a_wrong_secret_is_refused_and_an_unknown_agency_gets_its_error(
    served: tuple[TestClient, System],
) -> None:
    client, system = served
    assert post(client, new_request(), secret="not-the-secret-at-all")[0] == 401
    assert client.post("/iso18626", content=new_request()).status_code == 401
    stranger = build_request(
        "2021",
        Header(("ISIL", "LIB-B"), ("ISIL", "NOBODY"), NOW, "X-1"),
        work=WORK,
        title="",
        service_type="Loan",
    )
    status, (answer, kind, value) = post(client, stranger)
    assert (status, answer, kind) == (200, "ERROR", "UnrecognisedDataValue")
    assert value.startswith("requestingAgencyId")
    to_nobody = build_request(
        "2021",
        Header(("ISIL", "NOT-OURS"), ("ISIL", "EXT-A"), NOW, "X-2"),
        work=WORK,
        title="",
        service_type="Loan",
    )
    assert post(client, to_nobody)[1][:2] == ("ERROR", "UnrecognisedDataValue")
    unknown_work = build_request(
        "2021", header("X-3"), work="W-NONE", title="", service_type="Loan"
    )
    assert post(client, unknown_work)[1][0] == "ERROR"
    for their in ("X-1", "X-2", "X-3"):
        with pytest.raises(NotFound):
            system.requests.get_request(peer_request_id("EXT-A", their))


def test_malformed_and_out_of_state_messages_get_their_error_and_change_nothing(
    served: tuple[TestClient, System],
) -> None:
    client, system = served
    r = client.post("/iso18626", content=b"<not-iso/>", headers={SECRET_HEADER: SECRET})
    assert r.status_code == 400 and read_confirmation(r.content)[1] == "BadlyFormedMessage"
    assert post(client, new_request("A-1")) == (200, ("OK", "", ""))
    before = version(system, "A-1")
    # Renew before the item was even sent: not valid now
    renew = build_requesting("2021", header("A-1"), action="Renew")
    _, (answer, kind, value) = post(client, renew)
    assert (answer, kind) == ("ERROR", "UnsupportedActionType") and "Renew" in value
    # 2017 has no Lost
    lost = build_requesting("2017", header("A-1"), action="Notification").replace(
        b">Notification<", b">Lost<"
    )
    assert post(client, lost)[1][:2] == ("ERROR", "UnsupportedActionType")
    # a request id we do not know
    cancel_other = build_requesting("2021", header("A-404"), action="Cancel")
    assert post(client, cancel_other)[1] == (
        "ERROR",
        "UnrecognisedDataValue",
        "requestingAgencyRequestId: request with a given ID not found",
    )
    assert version(system, "A-1") == before
    # a Cancel now is taken: the request waits for our answer
    cancel = build_requesting("2021", header("A-1", "2026-12-02T02:05:00Z"), action="Cancel")
    assert post(client, cancel) == (200, ("OK", "", ""))
    assert system.requests.get_request(peer_request_id("EXT-A", "A-1")).status.value == (
        "CancelPending"
    )


def test_every_message_we_answer_with_validates_against_the_schema(
    served: tuple[TestClient, System],
) -> None:
    client, _ = served
    schemas = Schemas(need_interop())
    cancel = build_requesting("2017", header("Z"), action="Cancel")
    for body in (new_request("A-9"), b"<x/>", cancel):
        r = client.post("/iso18626", content=body, headers={SECRET_HEADER: SECRET})
        doc = etree.ElementTree(etree.fromstring(r.content))
        assert schemas.generation_of(doc) is not None, r.text


SAMPLES: dict[str, tuple[str, str]] = {
    # file -> (messageStatus, errorType) as the sample's own confirmation says
    "cl-reqmsg-invalid-action.xml": ("ERROR", "UnsupportedActionType"),
    "cl-supmsg-invalid-status.xml": ("ERROR", "UnrecognisedDataValue"),
    "cl-supmsg-invalid-reason.xml": ("ERROR", "UnsupportedReasonForMessageType"),
    "cl-request-no-reqid.xml": ("ERROR", "UnrecognisedDataValue"),
    "cl-reqmsg-cancel-ok.xml": ("ERROR", "UnrecognisedDataValue"),  # no such request here
    "cl-supmsg-loaned-ok.xml": ("ERROR", "UnrecognisedDataValue"),  # no such request here
    "cl-request-loaned.xml": ("OK", ""),
    "cl-request-prefixed-tag0.xml": ("OK", ""),
}


def _as_peer(body: bytes) -> bytes:
    """A sample, addressed between the test's peer and our library (the agencies are the
    samples' own test names): only the header's agency values change."""
    doc = etree.fromstring(body)
    ns = {"i": "http://illtransactions.org/2013/iso18626"}
    kind = etree.QName(doc[0]).localname
    sender = "supplyingAgencyId" if kind == "supplyingAgencyMessage" else "requestingAgencyId"
    for node in doc.xpath("//i:header/*[i:agencyIdValue]", namespaces=ns):
        value = node.find("i:agencyIdValue", ns)
        value.text = "EXT-A" if etree.QName(node).localname == sender else "LIB-B"
    work = doc.find(".//i:supplierUniqueRecordId", ns)
    if work is not None:
        work.text = WORK
    return bytes(etree.tostring(doc))


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_third_party_samples_are_answered_as_their_confirmations_say(
    served: tuple[TestClient, System], name: str
) -> None:
    client, _ = served
    body = _as_peer((MESSAGES / name).read_bytes())
    status, (answer, kind, _) = post(client, body)
    assert (status, answer, kind) == (200, *SAMPLES[name])


def test_the_empty_envelope_is_refused_as_badly_formed(served: tuple[TestClient, System]) -> None:
    client, _ = served
    r = client.post(
        "/iso18626",
        content=(MESSAGES / "cl-msg-empty-envelope.xml").read_bytes(),
        headers={SECRET_HEADER: SECRET},
    )
    assert r.status_code == 400 and read_confirmation(r.content)[:2] == (
        "ERROR",
        "BadlyFormedMessage",
    )


def test_the_network_administrator_configures_peers_with_problem_json_errors(
    served: tuple[TestClient, System],
) -> None:
    client, system = served
    admin = network_admin(client)
    peer: dict[str, Any] = {
        "library": "EXT-A",
        "name": "Outside A",
        "agency_id_type": "ISIL",
        "agency_id_value": "EXT-A",
        "url": "https://a.example/iso18626",
        "schema": "2017",
    }
    r = client.post("/iso18626/peers", json=peer, headers=admin)
    assert r.status_code == 201 and r.json()["schema"] == "2017", r.text
    assert client.get("/iso18626/peers/EXT-A", headers=admin).json()["url"] == peer["url"]
    bad = client.post("/iso18626/peers", json={**peer, "url": "ftp://x"}, headers=admin)
    assert bad.status_code == 422 and bad.json()["type"] == "/problems/invalid-input"
    system.entry.act(DEMO_LOADER, _library("EXT-C"))
    taken = client.post("/iso18626/peers", json={**peer, "library": "EXT-C"}, headers=admin)
    assert taken.status_code == 422 and "the peer EXT-A's" in taken.json()["detail"]
    missing = client.post("/iso18626/peers", json={**peer, "library": "NOPE"}, headers=admin)
    assert missing.status_code == 404 and missing.json()["type"] == "/problems/not-found"
    # a new peer without a secret gets one, shown once
    fresh = client.post(
        "/iso18626/peers",
        json={**peer, "library": "EXT-C", "agency_id_value": "EXT-C"},
        headers=admin,
    )
    assert fresh.status_code == 201 and len(fresh.json()["secret"]) >= 32
    assert "secret" not in client.get("/iso18626/peers/EXT-C", headers=admin).json()


def _library(code: str) -> Any:
    from services.commands import RegisterLibrary

    return RegisterLibrary(code, code, "provincial", "Elsewhere")


def test_the_peer_reports_our_item_lost_over_the_2021_schema(
    served: tuple[TestClient, System],
) -> None:
    client, system = served
    assert post(client, new_request("A-7")) == (200, ("OK", "", ""))
    rid = peer_request_id("EXT-A", "A-7")
    lib = Librarian(client, "LIB-B")
    r = lib.act(str(rid), "Loaned", item_id=f"LIB-B-{WORK}-1")
    assert r.status_code == 200, r.text
    received = build_requesting("2021", header("A-7", "2026-12-02T02:10:00Z"), action="Received")
    assert post(client, received) == (200, ("OK", "", ""))
    lost = build_requesting("2021", header("A-7", "2026-12-02T02:20:00Z"), action="Lost")
    assert post(client, lost) == (200, ("OK", "", ""))
    req = system.requests.get_request(rid)
    assert req.status.value == "CompletedWithoutReturn"
    assert system.copies.get(f"LIB-B-{WORK}-1").status.value == "missing"
    kinds = [m["status"] for m in lib.get(f"/requests/{rid}/iso18626").json()["messages"]]
    assert kinds == ["OK", "OK", "OK"]


def test_serve_runs_the_outbox_under_its_supervisor_when_iso18626_is_configured(
    make_system: Callable[..., System],
) -> None:
    with_iso = make_system(iso18626_xsd_dir=need_interop())
    with_iso.start_workers()
    assert "iso-outbox" in {t.name for t in with_iso.threads}
    without = make_system()
    without.start_workers()
    assert "iso-outbox" not in {t.name for t in without.threads}
