"""Searching the union catalogue the way Vietnamese people type (ADR 0025): with or without
tones, in decomposed Unicode, exact-tone matches first; filtered by library, availability
and kind; a page at a time; and restricted works invisible to those who may not see them."""

from __future__ import annotations

import unicodedata
from typing import Any

from domain.access import DEMO_LOADER
from services.commands import RegisterHolding, RegisterWork
from tests.e2e.callers import Librarian, Network, auditor
from tests.integration.support import eventually


def codes(lib: Librarian, **params: Any) -> list[str]:
    r = lib.get("/catalogue/works", params=params)
    assert r.status_code == 200, r.text
    return [w["code"] for w in r.json()]


def test_words_without_tones_find_the_work_with_them(network: Network) -> None:
    client, _ = network
    school = Librarian(client, "HNM-S-ADT")
    assert codes(school, q="truyen kieu") == ["W-KIEU"]
    assert codes(school, q="TRUYEN KIEU") == ["W-KIEU"]
    assert codes(school, q="Truyện Kiều") == ["W-KIEU"]
    assert sorted(codes(school, q="nam cao")) == ["W-CHIPHEO", "W-DOITHUA", "W-LAOHAC"]
    # đ is a letter of its own, folded to d: "doi thua" finds "Đời thừa"
    assert codes(school, q="doi thua") == ["W-DOITHUA"]
    assert codes(school, q="dia chi ha nam") == ["W-DIACHI-HN"]
    # the last word may be the start of one, as people type
    assert codes(school, q="de men phieu l") == ["W-DEMEN"]
    assert codes(school, q="truyen kieu xyz") == []


def test_decomposed_input_and_misplaced_marks_find_the_same(network: Network) -> None:
    client, _ = network
    school = Librarian(client, "HNM-S-ADT")
    decomposed = unicodedata.normalize("NFD", "Truyện Kiều")
    assert decomposed != "Truyện Kiều"
    assert codes(school, q=decomposed) == ["W-KIEU"]
    # "ệ" typed as e + dot below + circumflex (the tone before the shape)
    misplaced = "Truye\u0323\u0302n Kie\u0300u"
    assert codes(school, q=misplaced) == ["W-KIEU"]
    assert codes(school, q=unicodedata.normalize("NFD", "Vũ Trọng Phụng")) == ["W-SODO"]


def test_exact_tone_matches_rank_first(network: Network) -> None:
    client, system = network
    for code, title in (("W-MUALAC", "Mùa lạc"), ("W-MUALAC2", "Mưa lác")):
        system.entry.act(DEMO_LOADER, RegisterWork(code, title, "book", creator="Nguyễn Khải"))
        system.entry.act(DEMO_LOADER, RegisterHolding(code, "HNM-KB", 1))
    school = Librarian(client, "HNM-S-ADT")
    eventually(lambda: len(codes(school, q="mua lac")) == 2, what="both works")
    assert codes(school, q="mùa lạc") == ["W-MUALAC", "W-MUALAC2"]
    assert codes(school, q="mưa lác") == ["W-MUALAC2", "W-MUALAC"]
    assert codes(school, q=unicodedata.normalize("NFD", "mưa lác")) == ["W-MUALAC2", "W-MUALAC"]


def test_filters_by_library_availability_and_kind(network: Network) -> None:
    client, _ = network
    kb = Librarian(client, "HNM-KB")
    assert sorted(codes(kb, library="HNM-KB")) == ["W-KIEU", "W-TATDEN"]
    assert sorted(codes(kb, kind="han_nom")) == ["W-HUONGUOC", "W-THANTICH"]
    assert codes(kb, q="nam cao", library="HNM-LN") == ["W-CHIPHEO", "W-LAOHAC"]
    everything = codes(kb, limit=200)
    assert sorted(codes(kb, available=True, limit=200) + codes(kb, available=False, limit=200)) == (
        sorted(everything)
    )
    r = kb.get("/catalogue/works", params={"kind": "novel"})
    assert r.status_code == 422, r.text


def test_pages_cover_the_results_once(network: Network) -> None:
    client, _ = network
    kb = Librarian(client, "HNM-KB")
    everything = codes(kb, limit=200)
    pages = [codes(kb, limit=4, offset=n) for n in range(0, len(everything) + 4, 4)]
    assert [c for page in pages for c in page] == everything
    assert pages[-1] == []


def test_restricted_works_stay_hidden_from_those_who_may_not_see_them(network: Network) -> None:
    client, _ = network
    for library in ("HNM-S-ADT", "HNM-KB", "HNM-TVT"):
        lib = Librarian(client, library)
        assert codes(lib, q="tai lieu nghiep vu") == []
        assert codes(lib, q="W-QS-TAILIEU") == []
        assert "W-QS-TAILIEU" not in codes(lib, kind="restricted")
    assert codes(Librarian(client, "HNM-CA"), q="tai lieu nghiep vu") == ["W-QS-TAILIEU"]
    r = client.get("/catalogue/works", params={"q": "tai lieu"}, headers=auditor(client))
    assert [w["code"] for w in r.json()] == ["W-QS-TAILIEU"]
