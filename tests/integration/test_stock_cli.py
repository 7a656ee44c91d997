"""The operator's `libshare stock` commands on the real store: holdings that were counts
get their numbered copies once (a repeat registers none); a copy's state and history; a
transfer's handover record rendered again from its event matches the recorded hash, even
after the library that signed it was renamed."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from pathlib import Path
from uuid import UUID

from typer.testing import CliRunner

from api.cli import cli
from composition.bootstrap import System
from composition.demo_network import load_demo
from domain.access import Principal
from domain.account import Role
from domain.legal_act import LegalAct
from services.commands import ProposeTransfer, TransferStep
from tests.actors import TESTER


def librarian(library: str) -> Principal:
    return Principal(f"thuthu-{library.lower()}", frozenset({Role.LIBRARIAN}), library=library)


def test_holdings_that_were_counts_get_their_copies_once(
    make_system: Callable[..., System], database_url: str
) -> None:
    system = make_system()
    system.catalogue.register_library(TESTER, "OLD-LIB", "Thư viện cũ", "district", "Phủ Lý")
    system.catalogue.register_work(TESTER, code="W-OLD", title="Sách cũ", kind="book")
    # Written as before copies existed: the holding's count and no copy.
    system.catalogue.register_holding(TESTER, "W-OLD", "OLD-LIB", 3)
    env = {"DATABASE_URL": database_url, "LIBSHARE_LOG_LEVEL": "WARNING"}
    run = CliRunner()
    first = run.invoke(cli, ["stock", "migrate-copies"], env=env)
    assert first.exit_code == 0, first.output
    assert "copies registered: 3" in first.output
    again = run.invoke(cli, ["stock", "migrate-copies"], env=env)
    assert "copies registered: 0" in again.output
    shown = run.invoke(cli, ["stock", "copy", "OLD-LIB-W-OLD-2"], env=env)
    assert shown.exit_code == 0, shown.output
    copy = json.loads(shown.output)
    assert (copy["owner"], copy["status"]) == ("OLD-LIB", "on_shelf")
    assert [e["event"] for e in copy["history"]] == ["Registered"]
    assert copy["history"][0]["actor"]["account"] == "libshare-migrations"


def test_a_handover_record_renders_again_the_same_after_a_rename(
    make_system: Callable[..., System], database_url: str, tmp_path: Path
) -> None:
    system = make_system()
    load_demo(system)
    proposed = system.entry.act(
        librarian("HNM-KB"),
        ProposeTransfer("HNM-KB", "HNM-DT", "manual", ("HNM-KB-W-KIEU-1",)),
    )
    transfer = UUID(proposed["id"])
    system.entry.act(librarian("HNM-DT"), TransferStep(transfer, "approve"))
    system.entry.act(
        librarian("HNM-KB"), TransferStep(transfer, "pick", {"copies": ["HNM-KB-W-KIEU-1"]})
    )
    parcel = {"partner": "VNPOST", "waybill": "TF100000001VN", "parcels": [{"weight_grams": 500}]}
    system.entry.act(
        librarian("HNM-KB"), TransferStep(transfer, "dispatch", {"shipments": [parcel]})
    )
    act = LegalAct("Nghị quyết 1/2026/NQ-HĐND", date(2026, 1, 5), date(2026, 1, 5))
    system.reorganisation.rename(TESTER, "HNM-KB", "Thư viện phường Kim Bảng", "sáp nhập", act)

    env = {"DATABASE_URL": database_url, "LIBSHARE_LOG_LEVEL": "WARNING"}
    out = tmp_path / "giao.pdf"
    run = CliRunner()
    shown = run.invoke(cli, ["stock", "handover", str(transfer), "-o", str(out)], env=env)
    assert shown.exit_code == 0, shown.output
    assert "matches the recorded hash" in shown.output
    assert out.read_bytes().startswith(b"%PDF")
    receipt = run.invoke(cli, ["stock", "handover", str(transfer), "--stage", "receipt"], env=env)
    assert receipt.exit_code != 0  # nothing received yet: no such record
