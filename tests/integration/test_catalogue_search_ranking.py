"""Search ranks a bounded set of candidates (ADR 0025, 2026-12-02): works with every typed
word in its tones come first, even when more works match without tones than are ranked;
and paging goes on past the bound."""

from __future__ import annotations

from composition.bootstrap import System
from projections.catalogue_search import CANDIDATES, search
from tests.integration.marc_files import Book, iso2709
from tests.integration.test_marc_import import caught_up, imported, setup

KB = "HNM-KB"


def titles(system: System, q: str, **page: int) -> list[str]:
    with system.db.transaction() as conn:
        return [w["title"] for w in search(conn, "district", q, **page)]


def test_exact_tone_matches_come_first_among_more_matches_than_are_ranked(
    system: System,
) -> None:
    setup(system)
    many = [Book(f"KB-{n:05d}", f"Mưa lác {n:05d}", "Tác giả", "2020") for n in range(1200)]
    exact = Book("KB-EXACT", "Mùa lạc", "Nguyễn Khải", "1960")
    assert imported(system, KB, iso2709(*many[:700], exact, *many[700:]))["created"] == 1201
    caught_up(system)
    assert len(many) > 2 * CANDIDATES
    assert titles(system, "mùa lạc", limit=5)[0] == "Mùa lạc"
    assert titles(system, "mưa lác", limit=5)[0].startswith("Mưa lác")
    first = titles(system, "mua lac", limit=50)
    assert len(first) == 50 and not set(first) & set(titles(system, "mua lac", offset=50))
    # a page past the bound ranks every match: a full page, and pages do not repeat works
    deep = titles(system, "mua lac", limit=50, offset=1100)
    assert len(deep) == 50
    assert not set(deep) & set(titles(system, "mua lac", limit=50, offset=1050))
