"""The ISO 18626 messages we build validate against the official XSDs of the generation
they are built for, with every field we fill; the peers' settings are checked when
configured. The XSDs are read from ../shared/interop at test time (skipped when absent)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from domain.errors import InvalidInput
from domain.iso_peer import IsoPeer
from infra.iso18626_xml import (
    Header,
    Refused,
    Schemas,
    build_confirmation,
    build_request,
    build_requesting,
    build_supplying,
    kind_of,
    read,
)

XSD = Path(__file__).resolve().parents[3] / "shared" / "interop" / "iso18626" / "xsd"
TS = "2026-12-02T02:00:00Z"
H = Header(("ISIL", "LIB-B"), ("ISIL", "LIB-A"), TS, "R-1", "S-1")
SUPPLYING: list[dict[str, Any]] = [
    {"reason": "RequestResponse", "status": "ExpectToSupply"},
    {"reason": "RequestResponse", "status": "Unfilled", "reason_unfilled": "NotOnShelf"},
    {
        "reason": "RequestResponse",
        "status": "RetryPossible",
        "reason_retry": "CostExceedsMaxCost",
        "cost": "50000",
        "note": "phí sao chụp",
    },
    {
        "reason": "RequestResponse",
        "status": "RetryPossible",
        "reason_retry": "LoanCondition",
        "condition": "LibraryUseOnly",
        "retry_after": "2026-12-10T00:00:00Z",
    },
    {"reason": "StatusChange", "status": "Loaned", "item_id": "B-1", "due_date": TS},
    {"reason": "CancelResponse", "status": "Cancelled", "answer": "Y"},
    {"reason": "RenewResponse", "status": "Loaned", "answer": "N"},
    {"reason": "StatusRequestResponse", "status": "Overdue"},
    {"reason": "Notification", "status": "WillSupply", "note": "sắp gửi"},
]


@pytest.fixture(scope="module")
def schemas() -> Schemas:
    if not (XSD / "ISO-18626-2021-2.xsd").is_file():
        pytest.skip(f"the ISO 18626 schemas are not at {XSD} (../shared/interop)")
    return Schemas(XSD)


def valid_in(schemas: Schemas, body: bytes, generation: str) -> None:
    schemas.check(etree.ElementTree(etree.fromstring(body)), generation)


@pytest.mark.parametrize("generation", ["2021", "2017"])
def test_every_message_we_build_validates_in_its_generation(
    schemas: Schemas, generation: str
) -> None:
    bodies = [
        build_request(generation, H, work="W-1", title="Kiều", service_type="Copy"),
        build_request(
            generation,
            H,
            work="W-1",
            title="",
            service_type="Loan",
            request_type="Retry",
            need_before="2026-12-24T00:00:00Z",
        ),
        *(build_supplying(generation, H, last_change=TS, **f) for f in SUPPLYING),
        *(
            build_requesting(generation, H, action=a, note="n")
            for a in ("Cancel", "Received", "Renew", "ShippedReturn", "StatusRequest")
        ),
    ]
    echoes = {"request": "", "supplyingAgencyMessage": "RenewResponse"}
    for kind in ("request", "supplyingAgencyMessage", "requestingAgencyMessage"):
        got = {"timestamp": TS, "requesting_request_id": "R-1", "supplying_value": "LIB-B"}
        got["supplying_type"] = "ISIL"
        bodies.append(
            build_confirmation(
                generation, kind, got, received_at=TS, echo=echoes.get(kind, "Renew")
            )
        )
        error = Refused("UnrecognisedDataValue", "status: x")
        bodies.append(build_confirmation(generation, kind, {}, received_at=TS, error=error))
    for body in bodies:
        valid_in(schemas, body, generation)


def test_what_we_build_reads_back_as_we_meant_it(schemas: Schemas) -> None:
    body = build_supplying("2021", H, last_change=TS, **SUPPLYING[3])
    doc, kind = kind_of(body)
    assert kind == "supplyingAgencyMessage" and schemas.generation_of(doc) == "2021"
    msg = read(doc, kind, "2021")
    assert msg.header["requesting_request_id"] == "R-1"
    assert msg.values["loan_condition"] == "LibraryUseOnly"
    assert msg.values["reason_retry"] == "LoanCondition"


def test_lost_is_2021_only(schemas: Schemas) -> None:
    valid_in(schemas, build_requesting("2021", H, action="Lost"), "2021")
    with pytest.raises(ValueError, match="Lost"):
        valid_in(schemas, build_requesting("2017", H, action="Lost"), "2017")


@pytest.mark.parametrize(
    ("field", "value", "why"),
    [
        ("url", "ftp://x", "http"),
        ("agency_id_value", "has space", "agency_id_value"),
        ("schema", "2013", "schema"),
        ("auth", "password", "auth"),
    ],
)
def test_a_peer_is_refused_with_bad_settings(field: str, value: str, why: str) -> None:
    settings = {
        "agency_id_type": "ISIL",
        "agency_id_value": "VN-1",
        "url": "https://a.example/iso",
        "auth": "shared-secret",
        "schema": "2021",
    }
    with pytest.raises(InvalidInput, match=why):
        IsoPeer.configure("EXT-A", "A", **{**settings, field: value})


def test_mutual_tls_needs_https() -> None:
    with pytest.raises(InvalidInput, match="https"):
        IsoPeer.configure("EXT-A", "A", "ISIL", "VN-1", "http://a.example/iso", "mutual-tls")
    peer = IsoPeer.configure("EXT-A", "A", "ISIL", "VN-1", "https://a.example/iso", "mutual-tls")
    assert peer.auth == "mutual-tls"


def test_reconfiguring_with_the_same_settings_records_nothing() -> None:
    peer = IsoPeer.configure("EXT-A", "A", "ISIL", "VN-1", "https://a.example/iso")
    peer.collect_events()
    peer.reconfigure(IsoPeer.configure("EXT-A", "A", "ISIL", "VN-1", "https://a.example/iso"))
    assert peer.collect_events() == []
    peer.reconfigure(IsoPeer.configure("EXT-A", "A", "ISIL", "VN-1", "https://b.example/iso"))
    assert [type(e).__name__ for e in peer.collect_events()] == ["Reconfigured"]
    assert peer.url == "https://b.example/iso"


def test_a_peer_has_one_or_two_pins_and_a_pin_is_a_fingerprint() -> None:
    peer = IsoPeer.configure("EXT-A", "A", "ISIL", "VN-1", "https://a.example/iso", "mutual-tls")
    old, new, third = "a" * 64, "b" * 64, "c" * 64
    for pins, why in (([], "1 to 2"), ([old, new, third], "1 to 2"), (["AB" * 32], "64 hex")):
        with pytest.raises(InvalidInput, match=why):
            peer.pin_certificates(pins)
    peer.collect_events()
    peer.pin_certificates([old, new])  # the cut-over
    peer.pin_certificates([old, new])  # (the same again: nothing recorded)
    peer.pin_certificates([new])  # the old one removed
    assert [type(e).__name__ for e in peer.collect_events()] == ["CertificatesPinned"] * 2
    assert peer.certificate_sha256s == [new]


def test_a_peer_names_our_client_certificate_or_none() -> None:
    peer = IsoPeer.configure("EXT-A", "A", "ISIL", "VN-1", "https://a.example/iso", "mutual-tls")
    with pytest.raises(InvalidInput, match="client certificate name"):
        peer.choose_client_identity("../etc/key.pem")
    peer.collect_events()
    peer.choose_client_identity("for-nlv")
    peer.choose_client_identity("for-nlv")
    peer.choose_client_identity("")  # back to the network-wide one
    assert [type(e).__name__ for e in peer.collect_events()] == ["ClientIdentityChosen"] * 2
    assert peer.client_identity == ""
