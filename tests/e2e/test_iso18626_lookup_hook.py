"""The lookup hook (issue 17: "configured holdings or a lookup hook"; ADR 0028 amended
2026-12-02): instance A has no holding of the outside peer LIB-B for a work, but asks
LIB-B's SRU server (instance B's `/sru`, over real HTTP) when a rota is made; B's
catalogue has the work, so LIB-B is the candidate, and the loan goes to B and back. A
work B's catalogue lacks gets no candidate from it, nor does one while B is away."""

from __future__ import annotations

import socket
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest

from composition.bootstrap import System
from domain.access import CATALOGUE_IMPORTER
from domain.catalogue_record import CatalogueRecord
from services.commands import ImportCatalogue
from services.iso_inbound import peer_request_id
from tests.e2e.iso_instances import (
    Side,
    both,
    bound_socket,
    every_message_confirmed,
    second_database,
    two_instances,
)
from tests.e2e.iso_world import build_network
from tests.integration.marc_files import Book, isbn, iso2709
from tests.integration.support import eventually

__all__ = ["second_database"]  # a fixture, used by name

# (the import puts a barcode under its library's code: CP-1 is LIB-B-CP-1 on B)
CHI_PHEO = Book("CP-1", "Chí Phèo", "Nam Cao", "2015", isbn(1), ("CP-1",))
LAO_HAC = Book("LH-1", "Lão Hạc", "Nam Cao", "2016", isbn(2), ("LH-1",))


@pytest.fixture
def hooked(make_system: Callable[..., System], second_database: str) -> Iterator[tuple[Side, Side]]:
    with hooked_instances(make_system, second_database) as both_sides:
        yield both_sides


@contextmanager
def hooked_instances(
    make_system: Callable[..., System],
    second_database: str,
    lookup: bool | dict[str, str] = True,
    **a_settings: Any,
) -> Iterator[tuple[Side, Side]]:
    with two_instances(make_system, second_database, lookup=lookup, extra=(a_settings, {})) as (
        a,
        b,
    ):
        # the same book in both catalogues: LIB-B's copy on B; on A, LIB-A's own copy
        # (the requester: never its own candidate), and LIB-B holds nothing there
        b.system.entry.act(CATALOGUE_IMPORTER, ImportCatalogue("LIB-B", iso2709(CHI_PHEO)))
        a.system.entry.act(CATALOGUE_IMPORTER, ImportCatalogue("LIB-A", iso2709(CHI_PHEO)))
        a.system.entry.act(CATALOGUE_IMPORTER, ImportCatalogue("LIB-A", iso2709(LAO_HAC)))
        eventually(lambda: _sru_has(b, CHI_PHEO.isbn), what="B's SRU to list the book")
        for book in (CHI_PHEO, LAO_HAC):
            work = work_of(a.system, book)
            eventually(lambda w=work: _held_on_a(a, w), what="A's catalogue")
        yield a, b


def _sru_has(side: Side, number: str) -> bool:
    try:
        r = httpx.get(
            f"{side.url}/sru",
            params={"operation": "searchRetrieve", "query": f'isbn = "{number}"'},
            timeout=2,
        )
    except httpx.HTTPError:
        return False
    return r.status_code == 200 and "numberOfRecords>1<" in r.text


def _held_on_a(a: Side, work: str) -> bool:
    return "LIB-A" in {c.library for c in a.system.candidate_finder(work)}


def work_of(system: System, book: Book) -> str:
    record: object = system.app.repository.get(CatalogueRecord.id_for("LIB-A", book.control))
    assert isinstance(record, CatalogueRecord)
    return record.work


def _ask(a: Side, work: str) -> dict[str, Any]:
    r = httpx.post(
        f"{a.url}/requests",
        json={"work": work, "reader_ref": "BD-0042"},
        headers={"Authorization": f"Bearer {a.key}"},
        timeout=20,
    )
    assert r.status_code == 201, r.text
    return dict(r.json())


def test_the_peers_catalogue_makes_it_a_candidate_and_the_loan_goes_there(
    hooked: tuple[Side, Side],
) -> None:
    a, b = hooked
    work = work_of(a.system, CHI_PHEO)
    asked = _ask(a, work)
    assert asked["supplier"] == "LIB-B", asked
    ours = uuid.UUID(asked["id"])
    theirs = peer_request_id("LIB-A", str(ours))
    eventually(lambda: _status(b, theirs) == "RequestReceived", what="B to get the request")
    assert b.request(theirs).work == work
    b.act(theirs, "Loaned", item_id="LIB-B-CP-1")
    both(a, ours, b, theirs, "Loaned", "Loaned")
    every_message_confirmed(a, ours)
    (sent,) = [m for m in a.messages(ours) if m["kind"] == "request"]
    assert CHI_PHEO.isbn.replace("-", "") in sent["message"].replace("-", "")


def test_a_work_the_peers_catalogue_lacks_gets_no_candidate_from_it(
    hooked: tuple[Side, Side],
) -> None:
    a, _ = hooked
    work = work_of(a.system, LAO_HAC)
    assert "LIB-B" not in {c.library for c in a.system.candidate_finder(work)}
    assert _ask(a, work)["supplier"] != "LIB-B"


def test_a_peer_whose_catalogue_is_away_is_no_candidate(
    make_system: Callable[..., System],
) -> None:
    away = bound_socket()  # bound, never listening
    system = make_system(
        iso18626_lookups={"LIB-B": f"http://127.0.0.1:{away.getsockname()[1]}/sru"},
        iso18626_lookup_seconds=1.0,
    )
    build_network(system, "LIB-A", "LIB-B", "http://127.0.0.1:9/iso18626", "W-KIEU")
    system.start_projector()
    eventually(lambda: bool(system.candidate_finder("W-KIEU")), what="the catalogue")
    assert "LIB-B" not in {c.library for c in system.candidate_finder("W-KIEU")}
    away.close()


def _status(side: Side, request_id: Any) -> str:
    try:
        return str(side.request(request_id).status.value)
    except Exception:
        return ""


def test_the_peers_answer_is_kept_for_a_while_then_asked_again(
    make_system: Callable[..., System], second_database: str
) -> None:
    keep = 2.0
    with hooked_instances(make_system, second_database, iso18626_lookup_cache_seconds=keep) as (
        a,
        b,
    ):
        work = work_of(a.system, CHI_PHEO)
        time.sleep(keep)  # (what the set-up asked has expired)
        asked = b.served["/sru"]
        assert _held_by_b(a, work) and b.served["/sru"] == asked + 1
        assert _held_by_b(a, work) and b.served["/sru"] == asked + 1  # kept: B not asked
        assert _ask(a, work)["supplier"] == "LIB-B"  # a rota made by the API: kept too
        assert b.served["/sru"] == asked + 1
        time.sleep(keep + 0.2)
        assert _held_by_b(a, work) and b.served["/sru"] == asked + 2  # expired: asked again


def test_peers_are_asked_at_once_and_silent_ones_do_not_hold_the_rota(
    make_system: Callable[..., System], second_database: str
) -> None:
    timeout = 2.0
    silent = [_never_answers(), _never_answers()]  # they take the connection, say nothing
    others = {
        f"LIB-S{i}": f"http://127.0.0.1:{s.getsockname()[1]}/sru" for i, s in enumerate(silent)
    }
    with hooked_instances(
        make_system,
        second_database,
        lookup=others,  # asked before B, in this order
        iso18626_lookup_seconds=timeout,
        iso18626_lookup_cache_seconds=0,  # (every rota asks them all)
    ) as (a, b):
        work = work_of(a.system, CHI_PHEO)
        asked = b.served["/sru"]
        started = time.monotonic()
        found = {c.library for c in a.system.candidate_finder(work)}
        took = time.monotonic() - started
        assert "LIB-B" in found and not found & set(others), found
        assert b.served["/sru"] == asked + 1
        # one after another, the two silent peers alone would take twice the time-out
        assert took < 2 * timeout, took
    for sock in silent:
        sock.close()


def _never_answers() -> socket.socket:
    sock = bound_socket()
    sock.listen(8)  # the kernel completes the handshake; nobody reads or answers
    return sock


def _held_by_b(a: Side, work: str) -> bool:
    return "LIB-B" in {c.library for c in a.system.candidate_finder(work)}
