"""Rotating collections and deposits (domain/rotation.py): planning a box's stages,
sending it on to the next stage (or home), recalling it early, extending a stage. Each
move is a transfer (services/transfers.py), proposed by the home library; the rotation
follows its transfers as they close (or are cancelled), in the same transaction."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.access import Actor
from domain.copy import barcode_of
from domain.errors import InvalidInput, NotFound
from domain.rotation import Rotation
from domain.transfer import Reason, Transfer, TransferStatus
from infra.network_app import NetworkApp
from services import aggregates
from services.idempotency import Idempotency, Planned, command_fingerprint
from services.transfers import TransfersService


class RotationsService:
    def __init__(
        self, store: NetworkApp, idempotency: Idempotency, transfers: TransfersService
    ) -> None:
        self.store = store
        self.idempotency = idempotency
        self.transfers = transfers
        transfers.on_ended.append(self._transfer_ended)
        transfers.on_found.append(self.copy_found)

    def get(self, rotation_id: UUID) -> Rotation:
        return aggregates.rotation(self.store, rotation_id)

    def parties(self, rotation_id: UUID) -> set[str]:
        try:
            rotation = self.get(rotation_id)
        except NotFound:
            return set()
        return {rotation.home, *(s["library"] for s in rotation.stages)}

    def plan(
        self,
        actor: Actor,
        home: str,
        *,
        name: str,
        copies: list[str],
        stages: list[dict[str, Any]],
        cyclical: bool,
        client_request_id: str | None,
    ) -> dict[str, Any]:
        key = f"{home}:{client_request_id}" if client_request_id else None
        rotation_id = (
            uuid.uuid5(uuid.NAMESPACE_URL, f"libshare:rotation:{key}") if key else uuid.uuid4()
        )
        barcodes = [barcode_of(b) for b in copies]
        fingerprint = command_fingerprint(
            "plan_rotation", name=name, copies=barcodes, stages=stages, cyclical=cyclical
        )

        def plan() -> Planned:
            for stage in stages:
                aggregates.library(self.store, str(stage.get("library", "")))
            for barcode in barcodes:
                copy = aggregates.copy(self.store, barcode)
                if copy.owner != home:
                    raise InvalidInput(f"copy {barcode} is owned by {copy.owner}, not {home}")
            rotation = Rotation.plan(
                rotation_id=rotation_id,
                home=home,
                name=name,
                copies=barcodes,
                stages=stages,
                cyclical=cyclical,
            )
            return [rotation], rotation.summary()

        return self.idempotency.run(actor, key, fingerprint, plan)

    def act(
        self,
        actor: Actor,
        rotation_id: UUID,
        library: str,
        action: str,
        params: dict[str, Any],
        client_request_id: str | None,
        now: datetime,
    ) -> dict[str, Any]:
        """advance (send the box on, or home after its last stage), recall, extend."""
        if action not in ("advance", "recall", "extend"):
            raise InvalidInput(f"no rotation action {action!r}; one of advance, recall, extend")
        key = f"{library}:{client_request_id}" if client_request_id else None
        fingerprint = command_fingerprint(
            "rotation", rotation_id=rotation_id, action=action, params=params
        )

        def plan() -> Planned:
            rotation = self.get(rotation_id)
            changed: list[Aggregate] = [rotation]
            if action == "extend":
                due = params.get("due_date")
                if not isinstance(due, date):
                    raise InvalidInput("extend needs the new due_date")
                rotation.extend(library, due, str(params.get("reason") or ""))
                if rotation.transfer_id is None and rotation.last_transfer:
                    stage = self.transfers.get(UUID(rotation.last_transfer))
                    stage.extend(due, str(params.get("reason") or ""))
                    changed.append(stage)
            elif action == "recall":
                transfer_id = uuid.uuid4()
                rotation.recall(library, str(transfer_id), str(params.get("reason") or ""))
                changed += self._move(rotation, transfer_id, Reason.RECALL, now)
            else:
                if library not in (rotation.home, rotation.at):
                    raise InvalidInput(
                        f"the box is moved on by its home {rotation.home} or by {rotation.at}"
                    )
                transfer_id = uuid.uuid4()
                index, _ = rotation.next_destination()
                due = None
                if index is not None:
                    days = int(rotation.stages[index]["days"])
                    due = now.date() + timedelta(days=days)
                rotation.move(str(transfer_id), due)
                reason = Reason.ROTATION if index is not None else Reason.RETURN_HOME
                if index is not None and len(rotation.stages) == 1 and not rotation.cyclical:
                    reason = Reason.DEPOSIT
                changed += self._move(rotation, transfer_id, reason, now)
            return changed, rotation.summary()

        return self.idempotency.run(
            actor, key, fingerprint, plan, lambda: self.get(rotation_id).summary()
        )

    def _move(
        self, rotation: Rotation, transfer_id: UUID, reason: Reason, now: datetime
    ) -> list[Aggregate]:
        """The transfer that moves the box, proposed by its home library."""
        assert rotation.going_to is not None
        return self.transfers.new_transfer(
            transfer_id=transfer_id,
            sender=rotation.at,
            receiver=rotation.going_to,
            reason=reason.value,
            copies=rotation.copies,
            proposed_by=rotation.home,
            now=now,
            due_date=rotation.moving_due,
            rotation_id=str(rotation.id),
            note=rotation.name,
        )

    def _transfer_ended(self, t: Transfer) -> list[Aggregate]:
        """A transfer of a box closed (the box arrived) or ended without moving."""
        if not t.rotation_id:
            return []
        rotation = self.get(UUID(t.rotation_id))
        if t.status is TransferStatus.CLOSED:
            assert t.closed_at is not None
            rotation.arrived(str(t.id), t.receiver, t.closed_at.date(), list(t.missing))
            if rotation.due_date and t.due_date and rotation.due_date > t.due_date:
                # The stage runs from the day of receipt: the deposit's record says so too.
                t.extend(rotation.due_date, "the stage runs from the day of receipt")
        else:
            rotation.cancel_move(str(t.id))
        return [rotation]

    def copy_found(self, t: Transfer, barcode: str) -> list[Aggregate]:
        """A copy missing on a transfer of a box was found at its receiver."""
        if not t.rotation_id:
            return []
        rotation = self.get(UUID(t.rotation_id))
        rotation.copy_found(barcode, t.receiver)
        return [rotation]
