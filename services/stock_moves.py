"""When a library is merged into another or re-coded (services/reorganisation.py, ADR
0021), its stock goes on under the new code: every copy that names it (owner, holder,
the library it is lent to or travels to), its open transfers and its rotations, each with
an event saying so, in the transaction of the library's own event. A transfer whose two
sides became one library before anything was sent is cancelled, its copies released."""

from __future__ import annotations

from typing import Protocol
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.access import Actor
from domain.copy import Copy
from domain.legal_act import LegalAct
from domain.rotation import Rotation
from domain.transfer import Transfer
from infra.network_app import NetworkApp
from services import aggregates


class StockNaming(Protocol):
    """The barcodes of the copies that name a library, and the ids of its open transfers
    and rotations: the catalogue and transfers read models in the composition root."""

    def __call__(self, library: str) -> tuple[list[str], list[UUID], list[UUID]]: ...


class StockMover:
    def __init__(self, store: NetworkApp, naming: StockNaming) -> None:
        self.store = store
        self.naming = naming

    def __call__(
        self, actor: Actor, old: str, new: str, act: LegalAct, why: str
    ) -> list[Aggregate]:
        barcodes, transfer_ids, rotation_ids = self.naming(old)
        transfers = [aggregates.transfer(self.store, t) for t in transfer_ids]
        copies: dict[str, Copy] = {}
        for barcode in [*barcodes, *(b for t in transfers for b in t.copies)]:
            if barcode not in copies:
                copies[barcode] = aggregates.copy(self.store, barcode)
        rotations: dict[str, Rotation] = {
            str(r): aggregates.rotation(self.store, r) for r in rotation_ids
        }
        for t in transfers:
            if t.rotation_id and t.rotation_id not in rotations:
                rotations[t.rotation_id] = aggregates.rotation(self.store, UUID(t.rotation_id))
        changed: dict[object, Aggregate] = {}
        for copy in copies.values():
            if copy.replace_library(old, new, why):
                changed[copy.id] = copy
        for t in transfers:
            if t.replace_library(old, new, why):
                changed[t.id] = t
                if t.pointless:
                    self._cancel(t, why, copies, rotations, changed)
        for rotation in rotations.values():
            if rotation.replace_library(old, new, why):
                changed[rotation.id] = rotation
        return list(changed.values())

    @staticmethod
    def _cancel(
        t: Transfer,
        why: str,
        copies: dict[str, Copy],
        rotations: dict[str, Rotation],
        changed: dict[object, Aggregate],
    ) -> None:
        t.cancel(t.sender, f"{why}: its sender and receiver are one library now")
        for barcode in t.copies:
            copies[barcode].leave_transfer(str(t.id), "cancelled by the reorganisation")
            changed[copies[barcode].id] = copies[barcode]
        if t.rotation_id:
            rotation = rotations[t.rotation_id]
            rotation.cancel_move(str(t.id))
            changed[rotation.id] = rotation
