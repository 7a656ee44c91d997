"""The OAI-PMH harvester keeps a library's records in step with its own system, here a
second libshare (its own database, served over HTTP by its app) acting as the remote
provider: a first run takes everything page by page, later runs only what changed since,
deletions included; a run that finds nothing new changes nothing; a run cut short goes on
from its saved resumption token."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator

import psycopg
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from composition.bootstrap import System
from domain.access import CATALOGUE_IMPORTER, DEMO_LOADER
from domain.catalogue_record import CatalogueRecord
from infra.database import with_dbname
from projections.catalogue_search import search
from services.commands import DeleteRecords, ImportCatalogue, RegisterLibrary
from tests.integration.marc_files import Book, iso2709
from tests.integration.support import eventually

KB = "HNM-KB"
SOURCES = {KB: "http://remote.example/oai?set=HNM-KB"}
BOOKS = [Book(f"KB-{n:04d}", f"Sách thu hoạch {n}", "Tác giả Xa", "2021") for n in range(1, 131)]


@pytest.fixture
def remote(make_system: Callable[..., System], pg_server_url: str) -> Iterator[TestClient]:
    """Another libshare, in a database of its own, serving OAI-PMH."""
    name = f"t_remote_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_server_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    other = make_system(database_url=with_dbname(pg_server_url, name))
    other.entry.act(DEMO_LOADER, RegisterLibrary(KB, "Thư viện Kim Bảng", "district", "Hà Nam"))
    other.start_projector()
    with TestClient(create_app(system=other)) as client:
        yield client
    other.close()
    with psycopg.connect(pg_server_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def over_http(client: TestClient, calls: list[dict[str, str]]) -> Callable[..., bytes]:
    def fetch(base_url: str, params: dict[str, str]) -> bytes:
        assert base_url == "http://remote.example/oai"
        calls.append(params)
        return client.get("/oai", params=params).content

    return fetch


def remote_system(client: TestClient) -> System:
    system: System = client.app.state.system  # type: ignore[attr-defined]
    return system


def caught_up(system: System) -> None:
    def done() -> bool:
        with system.db.transaction() as conn:
            row = conn.execute(
                "SELECT (SELECT count(*) FROM libshare_events), (SELECT min(seen) FROM "
                "projection_state WHERE projection = 'catalogue_search')"
            ).fetchone()
        return row is not None and row[0] == row[1]

    eventually(done, what="the read model")


def test_a_library_is_harvested_incrementally_from_another_libshare(
    system: System, remote: TestClient
) -> None:
    there = remote_system(remote)
    there.entry.act(CATALOGUE_IMPORTER, ImportCatalogue(KB, iso2709(*BOOKS)))
    caught_up(there)
    system.entry.act(DEMO_LOADER, RegisterLibrary(KB, "Thư viện Kim Bảng", "district", "Hà Nam"))
    system.start_projector()
    calls: list[dict[str, str]] = []
    harvester = system.harvester(over_http(remote, calls), SOURCES)

    (first,) = harvester.run_once()
    assert (first.pages, first.created, first.rejected) == (2, 130, [])
    assert "resumptionToken" in calls[1] and calls[0]["set"] == KB and "from" not in calls[0]

    # nothing new: the next run asks from the last one's start, and changes nothing
    before, asked = system.app.recorder.max_notification_id(), len(calls)
    (again,) = harvester.run_once()
    assert "from" in calls[asked] and again.created == 0 and again.updated == 0
    assert again.unchanged == 130  # the overlap of 5 minutes asks for them again
    assert system.app.recorder.max_notification_id() == before

    # the remote library changes a record, adds one and deletes one
    changed = Book(**{**BOOKS[0].__dict__, "title": "Sách thu hoạch một (tái bản)"})
    added = Book("KB-9999", "Truyện Kiều", "Nguyễn Du", "1998")
    there.entry.act(CATALOGUE_IMPORTER, ImportCatalogue(KB, iso2709(changed, added)))
    there.entry.act(CATALOGUE_IMPORTER, DeleteRecords(KB, ("KB-0002",), "weeded"))
    caught_up(there)
    (third,) = harvester.run_once()
    assert (third.created, third.updated, third.deleted) == (1, 1, 1)
    deleted = system.app.repository.get(CatalogueRecord.id_for(KB, "KB-0002"))
    assert deleted.deleted
    caught_up(system)
    with system.db.transaction() as conn:
        assert [w["title"] for w in search(conn, "district", "truyen kieu")] == ["Truyện Kiều"]
        assert search(conn, "district", "tai ban")[0]["code"]  # the changed record's text
        # the work of the deleted record, which no other record has, is no longer found
        found = [w["title"] for w in search(conn, "district", "sach thu hoach 2", limit=200)]
        assert "Sách thu hoạch 2" not in found and "Sách thu hoạch 20" in found


def test_a_harvest_cut_short_goes_on_from_its_token(system: System, remote: TestClient) -> None:
    there = remote_system(remote)
    there.entry.act(CATALOGUE_IMPORTER, ImportCatalogue(KB, iso2709(*BOOKS)))
    caught_up(there)
    system.entry.act(DEMO_LOADER, RegisterLibrary(KB, "Thư viện Kim Bảng", "district", "Hà Nam"))
    calls: list[dict[str, str]] = []
    fetch = over_http(remote, calls)

    def cut_after_first_page(base_url: str, params: dict[str, str]) -> bytes:
        if "resumptionToken" in params:
            raise OSError("connection reset by peer")
        return fetch(base_url, params)

    cut = system.harvester(cut_after_first_page, SOURCES)
    assert cut.run_once() == []  # the failure is logged; the first page was imported
    resumed = system.harvester(fetch, SOURCES)
    (report,) = resumed.run_once()
    assert "resumptionToken" in calls[-1] and report.pages == 1 and report.created == 30
