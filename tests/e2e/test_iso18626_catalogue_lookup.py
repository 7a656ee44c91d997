"""An outside peer's `request` names the item by what its own system has (an ISBN, a
record of one of our libraries' catalogues, a title and author): we find the work in our
union catalogue (services/iso_lookup.py) and open the request with the library the peer
addressed if it holds a copy; otherwise the ERROR says what was tried, or who holds it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from xml.sax.saxutils import escape

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from composition.bootstrap import System
from domain.access import CATALOGUE_IMPORTER, DEMO_LOADER
from domain.catalogue_record import CatalogueRecord
from domain.errors import NotFound
from infra.iso18626_xml import NS, read_confirmation
from services.commands import ImportCatalogue, RegisterLibrary
from services.iso_inbound import peer_request_id
from services.iso_peers import SECRET_HEADER
from tests.e2e.iso_world import SECRET, build_network, need_interop
from tests.integration.marc_files import Book, isbn, iso2709
from tests.integration.support import eventually

CHI_PHEO = Book("KB-0001", "Chí Phèo", "Nam Cao", "2015", isbn(1), ("LIB-B-CP-1",))
LAO_HAC = Book("TV-0002", "Lão Hạc", "Nam Cao", "2016", isbn(2), ("LIB-C-LH-1",))


@pytest.fixture
def served(make_system: Callable[..., System]) -> Iterator[tuple[TestClient, System]]:
    system = make_system(iso18626_xsd_dir=need_interop())
    build_network(system, "LIB-B", "EXT-A", "http://127.0.0.1:9/iso18626", "W-KIEU")
    system.entry.act(DEMO_LOADER, RegisterLibrary("LIB-C", "Thư viện C", "district", "Hà Nam"))
    system.entry.act(CATALOGUE_IMPORTER, ImportCatalogue("LIB-B", iso2709(CHI_PHEO)))
    system.entry.act(CATALOGUE_IMPORTER, ImportCatalogue("LIB-C", iso2709(LAO_HAC)))
    system.start_projector()  # (the catalogue read model: who holds a work, for the hint)
    lao_hac = work_of(system, "LIB-C", LAO_HAC)
    eventually(lambda: bool(system.candidate_finder(lao_hac)), what="the catalogue")
    with TestClient(create_app(system=system)) as client:
        yield client, system


def work_of(system: System, library: str, book: Book) -> str:
    record: object = system.app.repository.get(CatalogueRecord.id_for(library, book.control))
    assert isinstance(record, CatalogueRecord)
    return record.work


def request(their: str, bibliographic: str, publication: str = "") -> bytes:
    """A 2021 request from EXT-A to our LIB-B, its bibliographicInfo as given."""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<ISO18626Message xmlns="{NS}" xmlns:ill="{NS}" ill:version="2021">
  <request>
    <header>
      <supplyingAgencyId><agencyIdType>ISIL</agencyIdType><agencyIdValue>LIB-B</agencyIdValue></supplyingAgencyId>
      <requestingAgencyId><agencyIdType>ISIL</agencyIdType><agencyIdValue>EXT-A</agencyIdValue></requestingAgencyId>
      <timestamp>2026-12-02T06:00:00Z</timestamp>
      <requestingAgencyRequestId>{their}</requestingAgencyRequestId>
    </header>
    <bibliographicInfo>{bibliographic}</bibliographicInfo>
    {publication}
    <serviceInfo><requestType>New</requestType><serviceType>Loan</serviceType></serviceInfo>
  </request>
</ISO18626Message>""".encode()


def isbn_id(value: str) -> str:
    return (
        "<bibliographicItemId>"
        "<bibliographicItemIdentifierCode>ISBN</bibliographicItemIdentifierCode>"
        f"<bibliographicItemIdentifier>{value}</bibliographicItemIdentifier>"
        "</bibliographicItemId>"
    )


def post(client: TestClient, body: bytes) -> tuple[str, str, str]:
    r = client.post("/iso18626", content=body, headers={SECRET_HEADER: SECRET})
    assert r.status_code == 200, r.text
    return read_confirmation(r.content)


def opened(system: System, their: str) -> str:
    return system.requests.get_request(peer_request_id("EXT-A", their)).work


def test_a_request_by_isbn_finds_the_work_the_import_matched(
    served: tuple[TestClient, System],
) -> None:
    client, system = served
    # the ISBN as printed, hyphens and all
    assert post(client, request("I-1", isbn_id(CHI_PHEO.isbn))) == ("OK", "", "")
    assert opened(system, "I-1") == work_of(system, "LIB-B", CHI_PHEO)
    req = system.requests.get_request(peer_request_id("EXT-A", "I-1"))
    assert (req.supplier, req.status.value) == ("LIB-B", "RequestReceived")


def test_a_request_by_our_librarys_record_id_or_by_title_and_author(
    served: tuple[TestClient, System],
) -> None:
    client, system = served
    record = (
        "<bibliographicRecordId><bibliographicRecordIdentifierCode>LIB-B"
        "</bibliographicRecordIdentifierCode><bibliographicRecordIdentifier>KB-0001"
        "</bibliographicRecordIdentifier></bibliographicRecordId>"
    )
    assert post(client, request("R-1", record)) == ("OK", "", "")
    assert opened(system, "R-1") == work_of(system, "LIB-B", CHI_PHEO)
    # the title and author decomposed and without the import's punctuation, with the year
    by_title = f"<title>{escape('Chí Phèo')}</title><author>Nam Cao</author>"
    publication = "<publicationInfo><publicationDate>2015</publicationDate></publicationInfo>"
    assert post(client, request("T-1", by_title, publication)) == ("OK", "", "")
    assert opened(system, "T-1") == work_of(system, "LIB-B", CHI_PHEO)


def test_nothing_that_matches_is_an_error_naming_what_was_tried(
    served: tuple[TestClient, System],
) -> None:
    client, system = served
    unknown = "<supplierUniqueRecordId>W-NONE</supplierUniqueRecordId><title>Số đỏ</title>"
    answer, kind, value = post(client, request("N-1", unknown + isbn_id(isbn(99))))
    assert (answer, kind) == ("ERROR", "UnrecognisedDataValue")
    assert "W-NONE" in value and "ISBN" in value and "Số đỏ" in value
    # a work we have, but the library addressed holds no copy: who does is said
    answer, kind, value = post(client, request("N-2", isbn_id(LAO_HAC.isbn)))
    assert (answer, kind) == ("ERROR", "UnrecognisedDataValue")
    assert value.startswith("supplyingAgencyId: LIB-B holds no copy") and "LIB-C" in value
    for their in ("N-1", "N-2"):
        with pytest.raises(NotFound):
            system.requests.get_request(peer_request_id("EXT-A", their))
