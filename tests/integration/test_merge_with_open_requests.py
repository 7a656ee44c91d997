"""A merge while requests and transfers are open, on the real store: nothing is lost or
orphaned (each open request goes on under the library merged into, its history kept, and
that library's librarians act on it; the staff move; so do its copies, its open transfers
and the rotations that name it, and a transfer between the two is cancelled); the merged
library takes no new work from the effective day; the registry and the statistics as of
the day before the merge equal a snapshot taken that day."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest

from composition.bootstrap import System
from composition.demo_network import load_demo
from domain.access import Principal
from domain.account import Role
from domain.legal_act import LegalAct
from domain.library import LibraryMerged
from projections.libraries import library_as_of, registry_as_of
from projections.requests import open_requests_naming
from projections.statistics import monthly
from projections.transfers import naming as transfers_naming
from services.commands import PlanRotation, ProposeTransfer, TakeAction, TransferStep
from tests.actors import TESTER
from tests.integration.support import eventually


def snapshot(system: System, day: date) -> dict[str, Any]:
    with system.db.transaction() as conn:
        month = day.replace(day=1)
        # Each library as it was (its period's end is what a later change may make known).
        return {
            "registry": [
                {k: v for k, v in lib.items() if k != "valid_to"}
                for lib in registry_as_of(conn, day)
            ],
            "statistics": monthly(conn, month, structure=day),
        }


def test_a_merge_while_requests_are_open_loses_and_orphans_nothing(system: System) -> None:
    load_demo(system)
    system.accounts.open_account(
        TESTER, "thuthu.tl", "Thủ thư Thanh Liêm", library="HNM-TL", roles=["librarian"]
    )
    system.accounts.open_account(
        TESTER, "thuthu.pl", "Thủ thư Phủ Lý", library="HNM-PL", roles=["librarian"]
    )
    system.start_projector()
    eventually(lambda: len(system.candidate_finder("W-DEMEN")) == 2, what="the catalogue")
    now = datetime.now(UTC)
    today, tomorrow = now.date(), now.date() + timedelta(days=1)
    ask = system.requests.request_item
    supplied = ask(TESTER, requester="HNM-S-ATL", work="W-DEMEN", reader_ref="R1", now=now)
    asking = ask(TESTER, requester="HNM-TL", work="W-KIEU", reader_ref="R2", now=now)
    later = ask(TESTER, requester="HNM-S-ABL", work="W-DEMEN", reader_ref="R3", now=now)
    assert supplied["supplier"] == "HNM-TL"
    assert [e["library"] for e in later["rota"]] == ["HNM-S-APL", "HNM-TL"]
    system.requests.take_action(
        TESTER, supplied["id"], library="HNM-TL", action="WillSupply", params={}, now=now
    )
    ids = [supplied["id"], asking["id"], later["id"]]
    out, into_tl, rotation = open_stock(system)
    history = {i: system.requests.get_request(i).version for i in ids}
    eventually(
        lambda: snapshot(system, today)["statistics"]["network"]["requested"] == 3,
        what="the statistics",
    )
    before = snapshot(system, today)  # taken the day before the merge takes effect

    # The merge is recorded today and takes effect tomorrow: nothing moves yet.
    act = LegalAct("Quyết định 7/QĐ-UBND", today, tomorrow)
    first = system.reorganisation.merge(TESTER, "HNM-TL", "HNM-PL", "Sắp xếp", act, today)
    assert first["moved"] == {} and first["merged_into"] == "HNM-PL"
    assert system.requests.get_request(supplied["id"]).supplier == "HNM-TL"
    # On the effective day the same command moves what is open, in one transaction.
    done = system.reorganisation.merge(TESTER, "HNM-TL", "HNM-PL", "Sắp xếp", act, tomorrow)
    # others: Thanh Liêm's 2 copies, the copy on its way there, 2 transfers, 1 rotation
    assert done["moved"] == {"requests": 3, "accounts": 1, "others": 6}
    again = system.reorganisation.merge(TESTER, "HNM-TL", "HNM-PL", "Sắp xếp", act, tomorrow)
    assert again["moved"] == {"requests": 0, "accounts": 0, "others": 0}
    stock_moved(system, out, into_tl, rotation)
    assert again["version"] == done["version"]

    # The past stays as it was: the registry and the statistics of the day before.
    eventually(lambda: _merged_in_registry(system, tomorrow), what="the registry")
    after = snapshot(system, today)
    assert after["registry"] == before["registry"]
    assert after["statistics"] == before["statistics"]

    reqs = {i: system.requests.get_request(i) for i in ids}
    assert reqs[supplied["id"]].supplier == "HNM-PL"
    assert reqs[asking["id"]].requester == "HNM-PL"
    assert [e["library"] for e in reqs[later["id"]].rota] == ["HNM-S-APL", "HNM-PL"]
    for i in ids:  # one event more on each, its history kept
        assert reqs[i].version == history[i] + 1
    assert system.accounts.get_account("thuthu.tl").library == "HNM-PL"
    # Phủ Lý's librarians act on what Thanh Liêm had open; Thanh Liêm's are Phủ Lý's now.
    pl = Principal("thuthu.pl", frozenset({Role.LIBRARIAN}), library="HNM-PL")
    lent = {"item_id": "HNM-TL-W-DEMEN-1"}  # Thanh Liêm's copy, Phủ Lý's now
    loaned = system.entry.act(pl, TakeAction(supplied["id"], "Loaned", lent))
    assert loaned["status"] == "Loaned"
    eventually(
        lambda: _open_under(system, "HNM-TL") == [] and len(_open_under(system, "HNM-PL")) == 3,
        what="the requests read model",
    )
    # From the effective day: no new work for the merged library, nor routing to it.
    day_after = datetime.combine(tomorrow, now.timetz())
    with pytest.raises(LibraryMerged, match="merged into HNM-PL"):
        ask(TESTER, requester="HNM-TL", work="W-KIEU", reader_ref="R4", now=day_after)
    with pytest.raises(LibraryMerged, match="go to HNM-PL"):  # nor new staff
        system.accounts.open_account(
            TESTER, "thuthu.tl2", "Thủ thư mới", library="HNM-TL", today=tomorrow
        )
    eventually(
        lambda: (
            [(c.library, c.available) for c in system.candidate_finder("W-DEMEN")][:1]
            == [("HNM-PL", 0)]
        ),
        what="the catalogue to show Thanh Liêm's copies at Phủ Lý",
    )
    routed = ask(TESTER, requester="HNM-S-BH", work="W-DEMEN", reader_ref="R5", now=day_after)
    rota = system.requests.get_request(routed["id"])
    assert "HNM-TL" not in [e["library"] for e in rota.rota]
    # Its copies are Phủ Lý's now (the one left is lent, the other picked for a transfer):
    assert {"library": "HNM-PL", "reason": "no available copy"} in rota.excluded

    with system.db.transaction() as conn:
        then = library_as_of(conn, "HNM-TL", tomorrow)
        grouped = monthly(conn, today.replace(day=1), structure=tomorrow)
    assert then is not None and (then["status"], then["merged_into"]) == ("merged", "HNM-PL")
    assert "HNM-TL" not in [r["library"] for r in grouped["libraries"]]


def librarian(library: str) -> Principal:
    return Principal(f"thuthu-{library.lower()}", frozenset({Role.LIBRARIAN}), library=library)


def open_stock(system: System) -> tuple[UUID, UUID, UUID]:
    """Thanh Liêm sends a copy to a school (approved, picked); Phủ Lý proposes to send
    one to Thanh Liêm; the provincial library plans a rotation with a stage there."""
    out = system.entry.act(
        librarian("HNM-TL"),
        ProposeTransfer("HNM-TL", "HNM-S-ATL", "manual", ("HNM-TL-W-DEMEN-2",)),
    )
    system.entry.act(librarian("HNM-S-ATL"), TransferStep(UUID(out["id"]), "approve"))
    system.entry.act(
        librarian("HNM-TL"),
        TransferStep(UUID(out["id"]), "pick", {"copies": ["HNM-TL-W-DEMEN-2"]}),
    )
    into_tl = system.entry.act(
        librarian("HNM-PL"),
        ProposeTransfer("HNM-PL", "HNM-TL", "manual", ("HNM-PL-W-DIACHI-HN-1",)),
    )
    plan = PlanRotation("Tủ sách xã", ("HNM-TVT-W-KIEU-1",), (("HNM-TL", 60), ("HNM-KB", 60)))
    rotation = system.entry.act(librarian("HNM-TVT"), plan)
    ids = UUID(out["id"]), UUID(into_tl["id"]), UUID(rotation["id"])

    def projected() -> bool:
        with system.db.transaction() as conn:
            return transfers_naming(conn, "HNM-TL") == ([ids[0], ids[1]], [ids[2]])

    eventually(projected, what="the transfers read model")
    return ids


def stock_moved(system: System, out: UUID, into_tl: UUID, rotation: UUID) -> None:
    copies = [system.copies.get(f"HNM-TL-W-DEMEN-{n}") for n in (1, 2)]
    assert [(c.owner, c.holder) for c in copies] == [("HNM-PL", "HNM-PL")] * 2
    sent = system.transfers.get(out)  # goes on from Phủ Lý, the copy still picked for it
    assert (sent.sender, sent.status.value, copies[1].reserved_for) == (
        "HNM-PL",
        "approved",
        str(out),
    )
    cancelled = system.transfers.get(into_tl)  # from Phủ Lý to Phủ Lý: nothing to send
    assert cancelled.status.value == "cancelled"
    assert system.copies.get("HNM-PL-W-DIACHI-HN-1").transfers == []
    plan = system.rotations.get(rotation)
    assert [s["library"] for s in plan.stages] == ["HNM-PL", "HNM-KB"]


def _open_under(system: System, code: str) -> list[Any]:
    with system.db.transaction() as conn:
        return open_requests_naming(conn, code)


def _merged_in_registry(system: System, day: date) -> bool:
    with system.db.transaction() as conn:
        found = library_as_of(conn, "HNM-TL", day)
    return found is not None and found["status"] == "merged"
