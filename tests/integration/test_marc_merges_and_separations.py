"""Imported records merge into works registered without MARC (the demo's), by their title
and author; and a merge, once separated, is fully reversed: the library's copies that the
record brought leave the work it had been merged into, with the holdings' counts
(ADR 0025, 2026-12-02)."""

from __future__ import annotations

from typing import Any

import pytest

from composition.bootstrap import System
from composition.demo_network import load_demo
from domain.access import CATALOGUE_IMPORTER, DEMO_LOADER, Principal
from domain.account import Role
from domain.catalogue import Holding
from domain.copy import Copy
from projections.catalogue import get_work
from projections.catalogue_search import search
from services.commands import ImportCatalogue, RegisterWork, SeparateRecord
from tests.integration.marc_files import Book, isbn, iso2709, shared
from tests.integration.test_marc_import import caught_up

KB, DT = "HNM-KB", "HNM-DT"
# As the Library of Congress writes a Vietnamese author: surname, comma, given name, dates
KIEU_KB = Book("KB-1", "Truyện Kiều", "Nguyễn, Du, 1765-1820", "2015", isbn(41), ("KB101",))
KIEU_DT = Book("DT-1", "Kim Vân Kiều", "Nguyễn Du", "2019", isbn(41), ("DT500", "DT501"))


def imported(system: System, library: str, data: bytes) -> dict[str, Any]:
    report = system.entry.act(CATALOGUE_IMPORTER, ImportCatalogue(library, data)).as_dict()
    assert isinstance(report, dict)
    return report


def found(system: System, q: str) -> list[str]:
    with system.db.transaction() as conn:
        return [w["code"] for w in search(conn, "district", q)]


def copies_at(system: System, work: str) -> dict[str, int]:
    with system.db.transaction() as conn:
        found = get_work(conn, work, "district")
    assert found is not None, work
    return {h["library"]: h["copies"] for h in found["holdings"] if h["copies"]}


def separate(system: System, library: str, local_id: str) -> dict[str, Any]:
    admin = Principal(f"quantri.{library}", frozenset({Role.LIBRARY_ADMIN}), library, "district")
    result: dict[str, Any] = system.entry.act(
        admin, SeparateRecord(library, local_id, "another edition")
    )
    return result


def test_a_record_of_a_demo_work_merges_into_it_by_title_and_author(system: System) -> None:
    load_demo(system)
    system.start_projector()
    report = imported(system, KB, iso2709(KIEU_KB))
    assert report["created"] == 0
    assert report["merged"] == [{"record": "KB-1", "work": "W-KIEU", "rule": "title and author"}]
    # the merged record's ISBN is W-KIEU's now: another library's record of it, under
    # another title form, merges by the ISBN
    report = imported(system, DT, iso2709(KIEU_DT))
    assert report["merged"][0]["work"] == "W-KIEU"
    assert report["merged"][0]["rule"] == f"isbn {isbn(41).replace('-', '')}"
    caught_up(system)
    assert found(system, "truyen kieu") == ["W-KIEU"]
    assert found(system, "kim van kieu") == ["W-KIEU"]
    # the demo's copies and the imported ones, under the one work
    assert copies_at(system, "W-KIEU") == {"HNM-TVT": 5, DT: 4, KB: 2}


def test_a_record_of_another_author_or_another_title_is_a_work_of_its_own(
    system: System,
) -> None:
    load_demo(system)
    other_author = Book("KB-2", "Truyện Kiều", "Trần, Văn A", "2015")
    other_title = Book("KB-3", "Truyện Kiều toàn tập", "Nguyễn Du", "2015")
    report = imported(system, KB, iso2709(other_author, other_title))
    assert report["created"] == 2 and report["merged"] == []


def test_separating_a_record_moves_its_copies_back_to_a_work_of_its_own(system: System) -> None:
    load_demo(system)
    system.start_projector()
    kieu = Book("DT-1", "Truyện Kiều", "Nguyễn Du", "2019", "", ("DT500", "DT501"))
    assert imported(system, DT, iso2709(kieu))["merged"][0]["work"] == "W-KIEU"
    caught_up(system)
    assert copies_at(system, "W-KIEU")[DT] == 4
    separated = separate(system, DT, "DT-1")
    assert separated["was"] == "W-KIEU"
    assert separated["copies"] == ["HNM-DT-DT500", "HNM-DT-DT501"]
    work = separated["work"]
    for barcode in separated["copies"]:
        assert system.app.repository.get(Copy.id_for(barcode)).work == work
    kieu_dt = system.app.repository.get(Holding.id_for("W-KIEU", DT))
    assert kieu_dt.copies == 2  # the demo's two, as before the import
    assert system.app.repository.get(Holding.id_for(work, DT)).copies == 2
    caught_up(system)
    assert copies_at(system, "W-KIEU") == {"HNM-TVT": 5, DT: 2, KB: 1}
    assert copies_at(system, work) == {DT: 2}
    assert sorted(found(system, "kieu")) == sorted(["W-KIEU", work])
    # the demo's own copies stayed where they were
    assert system.app.repository.get(Copy.id_for("HNM-DT-W-KIEU-1")).work == "W-KIEU"


def test_an_item_less_record_takes_its_numbered_copy_with_it(system: System) -> None:
    load_demo(system)
    system.start_projector()
    bare = Book("DT-2", "Chí Phèo", "Nam Cao", "2016")
    assert imported(system, DT, iso2709(bare))["merged"][0]["work"] == "W-CHIPHEO"
    caught_up(system)
    assert copies_at(system, "W-CHIPHEO")[DT] == 1
    separated = separate(system, DT, "DT-2")
    assert separated["copies"] == ["HNM-DT-W-CHIPHEO-1"]
    caught_up(system)
    assert DT not in copies_at(system, "W-CHIPHEO")
    assert copies_at(system, separated["work"]) == {DT: 1}


def test_a_library_of_congress_record_keeps_its_author_key_without_dates(system: System) -> None:
    """A third-party record whose author carries dates ("Hoàng, Cầm, 1922-2010."): a work
    registered by title and author alone takes it in."""
    path = shared("marc/loc-booksall-2016/vie-40.mrc")
    if path is None:
        pytest.skip("../shared/interop/marc is absent: no third-party records to read")
    load_demo(system)
    hoang_cam = RegisterWork("W-HOANGCAM", "Văn xuôi Hoàng Cầm", "book", creator="Hoàng Cầm")
    system.entry.act(DEMO_LOADER, hoang_cam)
    report = imported(system, KB, path.read_bytes())
    rules = {m["record"]: (m["work"], m["rule"]) for m in report["merged"]}
    assert rules["00280615"] == ("W-HOANGCAM", "title and author")


def test_a_record_the_domain_refuses_is_told_and_the_rest_of_its_batch_goes_in(
    system: System,
) -> None:
    load_demo(system)
    too_long = Book("K" * 120, "Tắt đèn", "Ngô Tất Tố", "2011")
    books = [Book(f"KB-{n}", f"Sách {n}", "Tác giả", "2020") for n in range(600)]
    report = imported(system, KB, iso2709(*books[:300], too_long, *books[300:]))
    assert report["created"] == 600
    assert report["rejected"] == [
        {
            "position": 301,
            "record": "K" * 120,
            "reason": f"control number {'K' * 120!r} must be 1 to 100 characters",
        }
    ]
    assert imported(system, KB, iso2709(*books))["unchanged"] == 600


@pytest.mark.parametrize("refused_first", [False, True], ids=["saved", "refused"])
def test_a_batch_matched_while_the_one_before_is_saved_builds_on_it(
    system: System, refused_first: bool
) -> None:
    """The next batch is matched while the one before is being saved, on top of it: its
    records merge into that batch's works and add to its holdings. If the batch before
    failed (one record the domain refuses), it is matched again after the batch before
    went in record by record."""
    load_demo(system)
    first = [
        Book(f"KB-{n}", f"Sách {n}", "Tác giả", "2020", isbn(n), (f"KB{n}A",))
        for n in range(1, 501)
    ]
    second = [  # other records of the first hundred books, each with another item
        Book(f"KB-{n}-2", f"Sách {n}", "Tác giả", "2020", isbn(n), (f"KB{n}B",))
        for n in range(1, 101)
    ]
    refused = [Book("K" * 120, "Tắt đèn", "Ngô Tất Tố", "2011")] if refused_first else []
    report = imported(system, KB, iso2709(*refused, *first, *second))
    assert report["created"] == 500 and len(report["merged"]) == 100
    assert [r["position"] for r in report["rejected"]] == ([1] if refused_first else [])
    for n in (1, 100):
        work = f"W-{isbn(n).replace('-', '')}"
        holding: Holding = system.app.repository.get(Holding.id_for(work, KB))
        assert holding.copies == 2
        assert system.app.repository.get(Copy.id_for(f"{KB}-KB{n}B")).work == work
    assert imported(system, KB, iso2709(*first, *second))["unchanged"] == 600
