"""A library's desk scans the labels on its books: an imported copy is registered as
`<library>-<its label>` (barcodes are unique network-wide, libraries' own labels are not),
so the desk finds it by the label alone (ADR 0025, 2026-12-02)."""

from __future__ import annotations

import pytest

from composition.bootstrap import System
from composition.demo_network import load_demo
from domain.access import Principal
from domain.account import Role
from domain.copy import CopyStatus
from domain.errors import NotFound
from services.commands import WithdrawCopy
from tests.integration.marc_files import Book, iso2709
from tests.integration.test_marc_merges_and_separations import imported

KB, DT = "HNM-KB", "HNM-DT"


def admin(library: str) -> Principal:
    return Principal(f"quantri.{library}", frozenset({Role.LIBRARY_ADMIN}), library, "district")


def test_the_desk_finds_an_imported_copy_by_its_own_label(system: System) -> None:
    load_demo(system)
    imported(system, KB, iso2709(Book("KB-9", "Sổ tay thủ thư", "Lê Văn", "2020", "", ("kb101",))))
    withdrawn = system.entry.act(admin(KB), WithdrawCopy("KB101", "damaged"))
    assert withdrawn.barcode == "HNM-KB-KB101" and withdrawn.status is CopyStatus.WITHDRAWN
    # a full barcode still works as it is (the demo's, already under the library's code)
    demo = system.entry.act(admin(KB), WithdrawCopy("HNM-KB-W-KIEU-1", "lost"))
    assert demo.barcode == "HNM-KB-W-KIEU-1"


def test_another_librarys_desk_does_not_find_it_by_the_label(system: System) -> None:
    load_demo(system)
    imported(system, KB, iso2709(Book("KB-9", "Sổ tay thủ thư", "Lê Văn", "2020", "", ("KB101",))))
    with pytest.raises(NotFound, match="KB101"):
        system.entry.act(admin(DT), WithdrawCopy("KB101", "damaged"))
