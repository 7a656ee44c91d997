"""The union catalogue served to national and outside systems (ADR 0025): OAI-PMH 2.0
(oai_dc and marcxml, a set per library, resumption tokens, from/until) and SRU 2.0 (CQL on
title, author, ISBN and any field, without tones; MARCXML and Dublin Core). Every response
validates against the official schemas; an imported MARC21 record comes back field for
field; records of restricted works are served to no one."""

from __future__ import annotations

import io
import time
from datetime import UTC, datetime
from typing import Any

import pymarc
import pytest
from fastapi.testclient import TestClient
from lxml import etree

from domain.access import CATALOGUE_IMPORTER, DEMO_LOADER
from services.commands import ImportCatalogue, RegisterHolding, RegisterWork
from tests.e2e.callers import Network
from tests.e2e.protocol_schemas import MARC21_SLIM, OAI_PMH, SRU_RESPONSE, schema, valid
from tests.integration.marc_files import Book, isbn, iso2709, nfd, record
from tests.integration.support import eventually

NS = {
    "o": "http://www.openarchives.org/OAI/2.0/",
    "m": "http://www.loc.gov/MARC21/slim",
    "dc": "http://purl.org/dc/elements/1.1/",
    "s": "http://docs.oasis-open.org/ns/search-ws/sruResponse",
    "d": "http://docs.oasis-open.org/ns/search-ws/diagnostic",
}
KIEU = Book("KB-0001", "Truyện Kiều", "Nguyễn Du", "1998", isbn(1), ("K1",), ("傳翹",))
MANY = [Book(f"KB-{n:04d}", f"Sách số {n}", "Tác giả Thử", "2020") for n in range(2, 231)]
DT_BOOKS = [Book("DT-1", nfd("Số đỏ"), "Vũ Trọng Phụng", "1936", isbn(2))]
SECRET = Book("CA-1", "Tài liệu mật", "Bộ Công an", "2020", isbn(9))


@pytest.fixture
def served(network: Network) -> TestClient:
    client, system = network
    # A restricted work, and the armed forces library's own record of it
    secret = f"W-{isbn(9).replace('-', '')}"
    system.entry.act(
        DEMO_LOADER,
        RegisterWork(secret, "Tài liệu mật", "restricted", visible_to=("armed_forces",)),
    )
    system.entry.act(DEMO_LOADER, RegisterHolding(secret, "HNM-CA", 1))
    for library, books in (("HNM-KB", [KIEU, *MANY]), ("HNM-DT", DT_BOOKS), ("HNM-CA", [SECRET])):
        system.entry.act(CATALOGUE_IMPORTER, ImportCatalogue(library, iso2709(*books)))
    eventually(lambda: len(harvest(client, "oai_dc")) == 231, what="the records served")
    return client


def oai(client: TestClient, **args: str) -> etree._Element:
    r = client.get("/oai", params=args)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/xml")
    return etree.fromstring(r.content)


def harvest(client: TestClient, prefix: str, **args: str) -> list[etree._Element]:
    """Every record of a ListRecords, following resumption tokens."""
    found: list[etree._Element] = []
    page = oai(client, verb="ListRecords", metadataPrefix=prefix, **args)
    while True:
        if page.find("o:error", NS) is not None:
            return found
        found += page.findall("o:ListRecords/o:record", NS)
        token = page.findtext("o:ListRecords/o:resumptionToken", None, NS)
        if not token:
            return found
        page = oai(client, verb="ListRecords", resumptionToken=token)


def test_records_round_trip_through_oai_pmh_marcxml_in_pages(served: TestClient) -> None:
    oai_xsd, marc_xsd = schema(OAI_PMH), schema(MARC21_SLIM)
    first = oai(served, verb="ListRecords", metadataPrefix="marcxml")
    valid(oai_xsd, first)
    assert len(first.findall("o:ListRecords/o:record", NS)) == 100
    records = harvest(served, "marcxml")
    ids = [r.findtext("o:header/o:identifier", None, NS) for r in records]
    assert len(ids) == len(set(ids)) == 231
    assert "oai:libshare:HNM-CA:CA-1" not in ids
    kieu = next(
        r for r in records if r.findtext("o:header/o:identifier", None, NS).endswith("KB-0001")
    )
    marc = kieu.find("o:metadata/m:record", NS)
    valid(marc_xsd, marc)
    served_back = pymarc.parse_xml_to_array(io.BytesIO(etree.tostring(marc)))[0]
    original = record(KIEU)
    for tag in ("001", "008", "020", "100", "245", "264", "880", "952"):
        assert [str(f) for f in served_back.get_fields(tag)] == [
            str(f) for f in original.get_fields(tag)
        ], tag
    # the decomposed title of Duy Tiên's record comes back composed (NFC)
    (so_do,) = harvest(served, "marcxml", set="HNM-DT")
    assert so_do.findtext(".//m:datafield[@tag='245']/m:subfield[@code='a']", None, NS) == (
        "Số đỏ /"
    )


def test_oai_dc_sets_dates_and_errors_validate(served: TestClient) -> None:
    xsd = schema(OAI_PMH)
    for args in (
        {"verb": "Identify"},
        {"verb": "ListMetadataFormats"},
        {"verb": "ListSets"},
        {
            "verb": "GetRecord",
            "identifier": "oai:libshare:HNM-KB:KB-0001",
            "metadataPrefix": "oai_dc",
        },
        {"verb": "ListIdentifiers", "metadataPrefix": "oai_dc", "set": "HNM-DT"},
    ):
        valid(xsd, oai(served, **args))
    sets = oai(served, verb="ListSets").findall("o:ListSets/o:set/o:setSpec", NS)
    assert {s.text for s in sets} >= {"HNM-KB", "HNM-DT"}
    dc = oai(
        served, verb="GetRecord", identifier="oai:libshare:HNM-KB:KB-0001", metadataPrefix="oai_dc"
    )
    assert [t.text for t in dc.iterfind(".//dc:title", NS)] == ["Truyện Kiều", "傳翹"]
    assert dc.findtext(".//dc:creator", None, NS) == "Nguyễn Du"
    errors = {
        "badVerb": {"verb": "Harvest"},
        "badArgument": {"verb": "ListRecords"},
        "cannotDisseminateFormat": {"verb": "ListRecords", "metadataPrefix": "mods"},
        "badResumptionToken": {"verb": "ListRecords", "resumptionToken": "not-ours"},
        "idDoesNotExist": {
            "verb": "GetRecord",
            "identifier": "oai:libshare:HNM-CA:CA-1",
            "metadataPrefix": "oai_dc",
        },
        "noRecordsMatch": {"verb": "ListRecords", "metadataPrefix": "oai_dc", "from": "2999-01-01"},
    }
    for code, args in errors.items():
        page = oai(served, **args)
        valid(xsd, page)
        assert page.find("o:error", NS).get("code") == code, args
    # from: only what changed since then
    time.sleep(1.1)
    since = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert harvest(served, "oai_dc", **{"from": since}) == []
    system = served.app.state.system  # type: ignore[attr-defined]
    changed = Book(**{**DT_BOOKS[0].__dict__, "barcodes": ("DT5",)})
    system.entry.act(CATALOGUE_IMPORTER, ImportCatalogue("HNM-DT", iso2709(changed)))
    eventually(lambda: len(harvest(served, "oai_dc", **{"from": since})) == 1, what="the change")


def sru(client: TestClient, **args: Any) -> etree._Element:
    r = client.get("/sru", params=args)
    assert r.status_code == 200, r.text
    page = etree.fromstring(r.content)
    valid(schema(SRU_RESPONSE), page)
    return page


def test_sru_searches_by_cql_without_tones_in_marcxml_and_dublin_core(served: TestClient) -> None:
    marc_xsd = schema(MARC21_SLIM)

    def count(query: str) -> int:
        return int(sru(served, query=query).findtext("s:numberOfRecords", None, NS))

    assert count('title = "truyen kieu"') == 1
    assert count('dc.title = "Truyện Kiều"') == 1
    assert count("author = nguyen and title = kieu") == 1
    assert count(f"isbn = {isbn(2)}") == 1
    assert count('"so do"') == 1  # a bare term: any field
    assert count("so do") == 0  # two bare words are no CQL: a diagnostic
    assert count('title any "kieu đỏ"') == 2
    assert count("传翹") == 0 and count("title = 傳翹") == 1
    assert count(f"isbn = {isbn(9)}") == 0  # a restricted work's record
    page = sru(served, query='author = "tac gia thu"', maximumRecords=10, startRecord=11)
    assert page.findtext("s:numberOfRecords", None, NS) == "229"
    assert page.findtext("s:nextRecordPosition", None, NS) == "21"
    for marc in page.iterfind(".//s:recordData/m:record", NS):
        valid(marc_xsd, marc)
    dc = sru(served, query="title = kieu", recordSchema="dc")
    assert dc.findtext(".//s:recordSchema", None, NS) == "info:srw/schema/1/dc-v1.1"
    assert dc.findtext(".//dc:title", None, NS) == "Truyện Kiều"
    for query, number in (('title = "kieu', "10"), ("publisher = x", "16"), ("(kieu", "10")):
        diagnostic = sru(served, query=query).findtext(".//d:uri", None, NS)
        assert diagnostic == f"info:srw/diagnostic/1/{number}", query
    assert sru(served).findtext(".//d:uri", None, NS) == "info:srw/diagnostic/1/7"
    assert sru(served, query="kieu", recordSchema="mods").findtext(".//d:uri", None, NS) == (
        "info:srw/diagnostic/1/66"
    )
