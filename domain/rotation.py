"""A rotating collection ("luân chuyển tài liệu", Circular 33/2018/TT-BVHTTDL): a box of
copies owned by a home library, lent for a period to each library of a plan of stages in
turn, one-off or cyclical; a deposit is a plan of one stage. Each move of the box is a
transfer (domain/transfer.py); the rotation records which stage the box is at, until
when, and what was lost on the way. The services move it on as its transfers close."""

from __future__ import annotations

from datetime import date, timedelta
from enum import StrEnum
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.errors import IllegalTransition, InvalidInput, NotYourTurn
from domain.text import one_line

MAX_STAGES = 24
MAX_STAGE_DAYS = 730


class RotationStatus(StrEnum):
    PLANNED = "planned"
    MOVING = "moving"  # a transfer of the box is open
    AT_STAGE = "at_stage"  # the box is at a stage's library, until its due date
    COMPLETED = "completed"  # the box is home again


class Rotation(Aggregate):
    TYPE_NAME = "rotation"

    class Planned(Aggregate.Created):
        home: str
        name: str
        copies: list[str]
        stages: list[dict[str, Any]]  # {"library": code, "days": n}
        cyclical: bool

    def __init__(
        self,
        home: str,
        name: str,
        copies: list[str],
        stages: list[dict[str, Any]],
        cyclical: bool,
    ) -> None:
        self.home = home
        self.name = name
        self.copies = list(copies)  # the box now: lost copies leave it
        self.stages = [dict(s) for s in stages]
        self.cyclical = cyclical
        self.status = RotationStatus.PLANNED
        self.stage: int | None = None  # the stage the box is at (or was last at)
        self.moving_stage: int | None = None  # the stage it is going to
        self.moving_due: date | None = None  # its transfer's due date, until it arrives
        self.at: str = home  # where the box is (or comes from, while it moves)
        self.transfer_id: str | None = None  # the open transfer of the box
        self.going_to: str | None = None  # where that transfer takes it
        self.last_transfer: str | None = None  # the transfer that brought it where it is
        self.due_date: date | None = None
        self.returning = False
        self.lost: list[str] = []

    @classmethod
    def plan(
        cls,
        *,
        rotation_id: UUID,
        home: str,
        name: str,
        copies: list[str],
        stages: list[dict[str, Any]],
        cyclical: bool,
    ) -> Rotation:
        if not 1 <= len(stages) <= MAX_STAGES:
            raise InvalidInput(f"a rotation has 1 to {MAX_STAGES} stages")
        checked = []
        for stage in stages:
            library, days = str(stage.get("library", "")).strip().upper(), stage.get("days")
            if library == home:
                raise InvalidInput("a stage is at another library than the box's home")
            if not isinstance(days, int) or not 1 <= days <= MAX_STAGE_DAYS:
                raise InvalidInput(f"a stage lasts 1 to {MAX_STAGE_DAYS} days")
            checked.append({"library": library, "days": days})
        if cyclical and len(checked) < 2:
            raise InvalidInput("a cyclical rotation has at least two stages")
        if not copies:
            raise InvalidInput("a rotation's box holds at least one copy")
        return cls._create(
            cls.Planned,
            id=rotation_id,
            home=home,
            name=one_line(name, "a rotation's name", 200),
            copies=list(copies),
            stages=checked,
            cyclical=cyclical,
        )

    # -- where the box goes next ----------------------------------------------------------
    def next_destination(self) -> tuple[int | None, str]:
        """The next stage's index and library, or (None, home) to go back."""
        if self.status is RotationStatus.COMPLETED:
            raise IllegalTransition("Advance", "completed", what="rotation")
        following = 0 if self.stage is None else self.stage + 1
        if following >= len(self.stages):
            if not self.cyclical:
                return None, self.home
            following = 0
        return following, self.stages[following]["library"]

    def _check_movable(self, command: str) -> None:
        if self.status not in (RotationStatus.PLANNED, RotationStatus.AT_STAGE):
            raise IllegalTransition(command, self.status.value, what="rotation")

    def move(self, transfer_id: str, due_date: date | None) -> None:
        """The box leaves for its next destination on `transfer_id`."""
        self._check_movable("Advance")
        index, library = self.next_destination()
        self._moving(
            transfer_id=transfer_id,
            stage=index,
            from_library=self.at,
            to_library=library,
            due_date=due_date,
            recalled=False,
        )

    def recall(self, library: str, transfer_id: str, reason: str) -> None:
        """The home library calls the box back early from the stage it is at."""
        if library != self.home:
            raise NotYourTurn(f"only the home library {self.home} recalls its box")
        if self.status is not RotationStatus.AT_STAGE:
            raise IllegalTransition("Recall", self.status.value, what="rotation")
        one_line(reason, "a recall's reason", 500)
        self._moving(
            transfer_id=transfer_id,
            stage=None,
            from_library=self.at,
            to_library=self.home,
            due_date=None,
            recalled=True,
        )

    @event("BoxMoving")
    def _moving(
        self,
        transfer_id: str,
        stage: int | None,
        from_library: str,
        to_library: str,
        due_date: date | None,
        recalled: bool,
    ) -> None:
        self.status = RotationStatus.MOVING
        self.transfer_id = transfer_id
        self.going_to = to_library
        self.returning = stage is None
        self.moving_stage = stage
        self.moving_due = due_date  # the stage's due date keeps running until it arrives

    def stage_days(self) -> int:
        assert self.moving_stage is not None
        return int(self.stages[self.moving_stage]["days"])

    def arrived(self, transfer_id: str, library: str, on: date, lost: list[str]) -> None:
        """The transfer of the box closed at `library`: the stage runs from `on`, or the
        box is home and the rotation completed."""
        if self.status is not RotationStatus.MOVING or transfer_id != self.transfer_id:
            raise IllegalTransition("Arrived", self.status.value, what="rotation")
        if self.returning:
            self._completed(transfer_id=transfer_id, lost=lost, returned_on=on)
        else:
            due = on + timedelta(days=self.stage_days())
            self._arrived(transfer_id=transfer_id, library=library, due_date=due, lost=lost)

    @event("BoxArrived")
    def _arrived(self, transfer_id: str, library: str, due_date: date, lost: list[str]) -> None:
        self.status = RotationStatus.AT_STAGE
        self.stage = self.moving_stage
        self.at = library
        self.transfer_id = None
        self.going_to = None
        self.last_transfer = transfer_id
        self.due_date = due_date
        self._lose(lost)

    @event("Completed")
    def _completed(self, transfer_id: str, lost: list[str], returned_on: date) -> None:
        self.status = RotationStatus.COMPLETED
        self.at = self.home
        self.transfer_id = None
        self.going_to = None
        self.last_transfer = transfer_id
        self.due_date = None
        self._lose(lost)

    def _lose(self, lost: list[str]) -> None:
        self.lost = [*self.lost, *lost]
        self.copies = [b for b in self.copies if b not in lost]

    def cancel_move(self, transfer_id: str) -> None:
        """The transfer of the box was cancelled or rejected: the box stays where it is."""
        if transfer_id != self.transfer_id:
            return
        self._move_cancelled(transfer_id=transfer_id)

    @event("MoveCancelled")
    def _move_cancelled(self, transfer_id: str) -> None:
        self.transfer_id = None
        self.going_to = None
        self.moving_due = None
        self.returning = False
        self.status = RotationStatus.PLANNED if self.at == self.home else RotationStatus.AT_STAGE

    def extend(self, library: str, due_date: date, reason: str) -> None:
        if library != self.home:
            raise NotYourTurn(f"only the home library {self.home} extends a stage")
        if self.status is not RotationStatus.AT_STAGE or self.due_date is None:
            raise IllegalTransition("Extend", self.status.value, what="rotation")
        if due_date <= self.due_date:
            raise InvalidInput(f"the new due date must be after {self.due_date}")
        self._extended(due_date=due_date, reason=one_line(reason, "an extension's reason", 500))

    @event("StageExtended")
    def _extended(self, due_date: date, reason: str) -> None:
        self.due_date = due_date

    def copy_found(self, barcode: str, library: str) -> None:
        """A copy lost on a move of the box turned up at `library`: it goes back into
        the box if the box is there; otherwise it waits there, on deposit, to be sent
        home (the event says which)."""
        if barcode not in self.lost:
            return
        rejoined = self.status is RotationStatus.AT_STAGE and self.at == library
        self._copy_found(barcode=barcode, library=library, rejoined=rejoined)

    @event("CopyFound")
    def _copy_found(self, barcode: str, library: str, rejoined: bool) -> None:
        self.lost = [b for b in self.lost if b != barcode]
        if rejoined:
            self.copies = [*self.copies, barcode]

    def replace_library(self, old: str, new: str, why: str) -> bool:
        """Library `old` became `new` (ADR 0021): the plan and the box go on under `new`."""
        named = old in (self.home, self.at, self.going_to) or any(
            s["library"] == old for s in self.stages
        )
        if self.status is RotationStatus.COMPLETED or old == new or not named:
            return False
        self._library_replaced(
            old=old,
            new=new,
            why=why,
            stages=[{**s, "library": new} if s["library"] == old else s for s in self.stages],
        )
        return True

    @event("LibraryReplaced")
    def _library_replaced(self, old: str, new: str, why: str, stages: list[dict[str, Any]]) -> None:
        self.stages = stages
        self.home = new if self.home == old else self.home
        self.at = new if self.at == old else self.at
        self.going_to = new if self.going_to == old else self.going_to

    def overdue(self, today: date) -> bool:
        return (
            self.status is RotationStatus.AT_STAGE
            and self.due_date is not None
            and today > self.due_date
        )

    def summary(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "version": self.version,
            "home": self.home,
            "name": self.name,
            "status": self.status.value,
            "stage": self.stage,
            "at": self.at,
            "due_date": self.due_date.isoformat() if self.due_date else None,
            "transfer_id": self.transfer_id,
            "copies": len(self.copies),
            "lost": list(self.lost),
        }
