"""The catalogue's copies read model says what each copy aggregate says, after a random
run of transfers, cancellations, picks, dispatches, receipts, closes, check-outs and
check-ins at any library through the one entry on the real store (seeded, so a failure
replays): status, holder, owner, the transfer it is picked for and the library it is lent
to."""

from __future__ import annotations

import random
from typing import Any
from uuid import UUID

import pytest

from composition.bootstrap import System
from composition.demo_network import load_demo
from domain.access import Principal
from domain.account import Role
from domain.errors import DomainError
from services.commands import CheckInCopy, CheckOutCopy, ProposeTransfer, TransferStep
from tests.integration.support import eventually

LIBRARIES = ("HNM-TVT", "HNM-DT", "HNM-KB")
COPIES = [f"HNM-TVT-W-KIEU-{n}" for n in range(1, 6)] + ["HNM-DT-W-KIEU-1", "HNM-KB-W-KIEU-1"]


def librarian(library: str) -> Principal:
    return Principal(f"thuthu-{library.lower()}", frozenset({Role.LIBRARIAN}), library=library)


def rows(system: System) -> dict[str, dict[str, Any]]:
    with system.db.transaction() as conn:
        found = conn.execute(
            "SELECT barcode, status, holder, owner, picked_for, lent_to FROM catalogue_copies "
            "WHERE work = 'W-KIEU'"
        ).fetchall()
    return {
        r[0]: dict(zip(("status", "holder", "owner", "picked_for", "lent_to"), r[1:], strict=True))
        for r in found
    }


def aggregate_says(system: System, barcode: str) -> dict[str, Any]:
    copy = system.copies.get(barcode)
    ill = copy.loan is not None and copy.loan["kind"] == "ill"
    return {
        "status": copy.status.value,
        "holder": copy.holder,
        "owner": copy.owner,
        "picked_for": copy.reserved_for,
        "lent_to": copy.loan["with"] if ill and copy.loan else None,
    }


@pytest.mark.parametrize("seed", [7, 2026])
def test_the_copies_read_model_follows_the_aggregates(system: System, seed: int) -> None:
    load_demo(system)
    system.start_projector()
    rng = random.Random(seed)
    transfers: list[UUID] = []
    done = 0
    for _ in range(120):
        kind = rng.choice(["propose", "step", "step", "step", "desk"])
        try:
            if kind == "propose":
                copy = system.copies.get(rng.choice(COPIES))
                sender = copy.available_from
                receiver = rng.choice([lib for lib in LIBRARIES if lib != sender])
                reason = rng.choice(["manual", "return_home", "reorganisation"])
                made = system.entry.act(
                    librarian(sender), ProposeTransfer(sender, receiver, reason, (copy.barcode,))
                )
                transfers.append(UUID(made["id"]))
            elif kind == "step" and transfers:
                t = system.transfers.get(rng.choice(transfers))
                step = {
                    "proposed": ("approve", t.receiver, {})
                    if rng.random() < 0.8
                    else ("cancel", t.sender, {"reason": "không cần nữa"}),
                    "approved": ("pick", t.sender, {"copies": t.to_send})
                    if t.unpicked
                    else ("dispatch", t.sender, {"shipments": [_parcel(rng)]}),
                    "in_transit": ("receive", t.receiver, {"copies": t.outstanding})
                    if rng.random() < 0.7
                    else ("close", t.receiver, {}),
                }.get(t.status.value)
                if step is None:
                    continue
                action, library, params = step
                system.entry.act(librarian(library), TransferStep(t.id, action, params))
            elif kind == "desk":
                barcode, at = rng.choice(COPIES), rng.choice(LIBRARIES)
                holder = system.copies.get(barcode).holder
                if rng.random() < 0.5:
                    system.entry.act(librarian(holder), CheckOutCopy(barcode, "BD-1"))
                system.entry.act(librarian(at), CheckInCopy(barcode))
            done += 1
        except DomainError:
            continue
    assert done > 40  # most of the run did something, transfers went all the way
    assert any(system.transfers.get(t).status.value == "closed" for t in transfers)

    expected = {barcode: aggregate_says(system, barcode) for barcode in COPIES}
    eventually(lambda: {b: rows(system).get(b) for b in COPIES} == expected, what="the copies")


def _parcel(rng: random.Random) -> dict[str, Any]:
    waybill = f"RN{rng.randrange(10**9):09d}VN"
    return {"partner": "VNPOST", "waybill": waybill, "parcels": [{"weight_grams": 300}]}
