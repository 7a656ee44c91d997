"""A libshare network with an outside ISO 18626 peer, for the ISO 18626 tests: our library
LIB-B holds a work; EXT-A stands for the peer (an outside library on another system). The
official XSDs are read at test time from ../shared/interop (skipped when absent)."""

from __future__ import annotations

from pathlib import Path

import pytest

from composition.bootstrap import System
from domain.access import DEMO_LOADER, Principal
from domain.account import Role
from services.commands import ConfigureIsoPeer, RegisterHolding, RegisterLibrary, RegisterWork

ROOT = Path(__file__).resolve().parents[2]
INTEROP = ROOT.parent / "shared" / "interop" / "iso18626"
XSD_DIR = INTEROP / "xsd"
MESSAGES = INTEROP / "messages"
SECRET = "a-shared-secret-of-the-test"
ADMIN = Principal("test-network-admin", frozenset({Role.NETWORK_ADMIN}))


def need_interop() -> Path:
    if not (XSD_DIR / "ISO-18626-2021-2.xsd").is_file():
        pytest.skip(f"the ISO 18626 schemas are not at {XSD_DIR} (../shared/interop)")
    return XSD_DIR


def build_network(
    system: System, ours: str, theirs: str, their_url: str, work: str, holder: str = ""
) -> None:
    """`holder` (ours unless told) holds `work` (two copies); `theirs` is an outside peer
    at `their_url`."""
    act = system.entry.act
    act(DEMO_LOADER, RegisterLibrary(ours, f"Thư viện {ours}", "provincial", "Hà Nam"))
    act(DEMO_LOADER, RegisterLibrary(theirs, f"Outside {theirs}", "provincial", "Elsewhere"))
    act(DEMO_LOADER, RegisterWork(work, "Truyện Kiều", "book", "Nguyễn Du"))
    act(DEMO_LOADER, RegisterHolding(work, holder or ours, 2))
    act(
        ADMIN,
        ConfigureIsoPeer(theirs, f"Outside {theirs}", "ISIL", theirs, their_url, secret=SECRET),
    )
