"""A rotating collection sent, partly lost, extended, recalled and returned, through the
one entry on the real store: the union catalogue (its read model) shows where every copy
is at each step, and ILL cannot lend a copy that is picked or in transit."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import pytest

from composition.bootstrap import System
from composition.demo_network import load_demo
from domain.access import Principal
from domain.account import Role
from domain.errors import IllegalTransition
from projections.catalogue import get_work
from services.commands import PlanRotation, RotationStep, TransferStep
from tests.integration.support import eventually

HOME, SCHOOL = "HNM-TVT", "HNM-S-BH"
BOX = [f"HNM-TVT-W-KIEU-{n}" for n in (1, 2, 3)]


def librarian(library: str) -> Principal:
    return Principal(f"thuthu-{library.lower()}", frozenset({Role.LIBRARIAN}), library, None)


def holding(system: System, library: str) -> dict[str, Any]:
    with system.db.transaction() as conn:
        work = get_work(conn, "W-KIEU", None) or {"holdings": []}
    return next((h for h in work["holdings"] if h["library"] == library), {})


def shows(system: System, library: str, **expected: int) -> None:
    eventually(
        lambda: all(holding(system, library).get(k, 0) == v for k, v in expected.items()),
        what=f"the catalogue to show {expected} at {library}",
    )


def step(system: System, library: str, transfer: str, action: str, **params: Any) -> Any:
    return system.entry.act(librarian(library), TransferStep(UUID(transfer), action, params))


def parcel(waybill: str) -> dict[str, Any]:
    return {
        "partner": "VNPOST",
        "waybill": waybill,
        "parcels": [{"weight_grams": 4000}],
        "declared_postage": "60000",
    }


def test_a_rotation_sent_partly_lost_extended_recalled_and_returned(system: System) -> None:
    load_demo(system)
    system.start_projector()
    shows(system, HOME, copies=5, available=5)
    plan = system.entry.act(
        librarian(HOME),
        PlanRotation("Tủ sách luân chuyển học kỳ I", tuple(BOX), ((SCHOOL, 90), ("HNM-S-APL", 90))),
    )
    rotation = UUID(plan["id"])
    moved = system.entry.act(librarian(HOME), RotationStep(rotation, "advance"))
    out = moved["transfer_id"]
    shows(system, HOME, copies=5, available=5)  # proposed: still on the shelf, lendable

    step(system, SCHOOL, out, "approve")
    step(system, HOME, out, "pick", copies=BOX)
    shows(system, HOME, copies=5, available=2)  # picked: no longer lendable
    with pytest.raises(IllegalTransition, match="picked for transfer"):
        system.copies.get(BOX[0]).lend_on_ill(HOME, "req", SCHOOL, "W-KIEU")

    step(system, HOME, out, "dispatch", shipments=[parcel("RT100000001VN")])
    shows(system, HOME, copies=5, in_transit=3, available=2)
    step(system, SCHOOL, out, "receive", copies=BOX[:2])
    closed = step(system, SCHOOL, out, "close")
    assert closed["missing"] == [BOX[2]]
    shows(system, SCHOOL, copies=2, on_deposit_here=2, available=2)
    shows(system, HOME, copies=3, lost=1, owned_elsewhere=2, available=2)
    with system.db.transaction() as conn:
        deposits = (get_work(conn, "W-KIEU", None) or {})["deposits"]
    assert deposits == [{"at": SCHOOL, "owned_by": HOME, "copies": 2}]

    at_stage = system.rotations.get(rotation)
    assert (at_stage.status.value, at_stage.at, at_stage.lost) == ("at_stage", SCHOOL, [BOX[2]])
    assert at_stage.due_date is not None
    later = at_stage.due_date.replace(year=at_stage.due_date.year + 1)
    system.entry.act(
        librarian(HOME),
        RotationStep(rotation, "extend", {"due_date": later, "reason": "năm học kéo dài"}),
    )
    assert system.rotations.get(rotation).due_date == later
    stage_transfer = system.transfers.get(UUID(out))
    assert stage_transfer.due_date == later  # the deposit's own record says so too

    recalled = system.entry.act(
        librarian(HOME), RotationStep(rotation, "recall", {"reason": "kiểm kê cuối năm"})
    )
    back = recalled["transfer_id"]
    step(system, SCHOOL, back, "approve")
    step(system, SCHOOL, back, "pick", copies=BOX[:2])
    step(system, SCHOOL, back, "dispatch", shipments=[parcel("RT100000002VN")])
    shows(system, SCHOOL, copies=2, in_transit=2, available=0)
    step(system, HOME, back, "receive", copies=BOX[:2])
    step(system, HOME, back, "close")
    done = system.rotations.get(rotation)
    assert (done.status.value, done.lost, done.copies) == ("completed", [BOX[2]], BOX[:2])
    shows(system, HOME, copies=5, lost=1, owned_elsewhere=0, available=4)
    shows(system, SCHOOL, copies=0, on_deposit_here=0)

    # The missing copy turns up later at the school: found, on the stage's transfer.
    step(system, SCHOOL, out, "found", copy=BOX[2])
    found = system.copies.get(BOX[2])
    assert (found.status.value, found.holder, found.owner) == ("on_deposit", SCHOOL, HOME)
    shows(system, SCHOOL, copies=1, on_deposit_here=1)
