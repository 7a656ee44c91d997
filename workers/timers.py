"""Timers: every wait in the lifecycle ends. Unanswered requests move to the next supplier
after their policy's time-out; the other waits (ExpectToSupply, WillSupply, conditions
awaiting the requester, a Cancel awaiting the supplier) remind their party once and then
end (ADR 0005); loans past their due date are marked overdue, received or not, and
overdue loans get one reminder a day; a merge whose effective day has come moves on what
is still open under the merged library; an ended request forgets its reader after the
retention period of reading history (ADR 0023). Each is an event, so the history shows it. The
aggregate refuses what is no longer due, so a lagging read model does no harm."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any
from uuid import UUID

import structlog

from domain.access import TIMERS, Forbidden
from domain.errors import DomainError
from infra.database import Database
from projections.digital import due_for_timers as digital_due
from projections.digital import readers_to_forget
from projections.libraries import merges_due
from projections.requests import due_for_timers, ended_before
from services.commands import (
    Command,
    CompleteMerge,
    ExpireAnswer,
    ExpireDigitalLoan,
    ForgetDigitalReaders,
    ForgetReader,
    LapseDigitalOffer,
    MarkOverdue,
    Remind,
)
from services.entry import Entry

log = structlog.get_logger("libshare.timers")


class Timers:
    def __init__(
        self,
        db: Database,
        entry: Entry,
        clock: Callable[[], datetime],
        reading_history_days: int = 365,
    ) -> None:
        self.db = db
        self.entry = entry
        self.clock = clock
        self.reading_history_days = reading_history_days

    def run_once(self, now: datetime | None = None) -> dict[str, int]:
        now = now or self.clock()
        with self.db.transaction() as conn:
            due = due_for_timers(conn, now)
            due["forget"] = ended_before(conn, now, self.reading_history_days)
        done = {"expired": 0, "overdue": 0, "reminded": 0, "readers_forgotten": 0}
        keep = self.reading_history_days
        # Who acts when a timer fires: the platform itself (domain/access.py's TIMERS).
        steps: list[tuple[str, str, Callable[[UUID], Command[Any]]]] = [
            ("expire", "expired", lambda rid: ExpireAnswer(rid, now)),
            ("overdue", "overdue", lambda rid: MarkOverdue(rid, now.date())),
            ("remind", "reminded", lambda rid: Remind(rid, now.date())),
            ("forget", "readers_forgotten", lambda rid: ForgetReader(rid, now.date(), keep)),
        ]
        for kind, counter, command in steps:
            for request_id in due[kind]:
                try:
                    self.entry.act(TIMERS, command(request_id))
                    done[counter] += 1
                except Forbidden as exc:  # the policy refuses the timers: a bug, not a race
                    log.error("timer refused", kind=kind, request=str(request_id), why=str(exc))
                except DomainError as exc:  # the read model lagged, or a librarian was first
                    log.info("timer skipped", kind=kind, request=str(request_id), why=str(exc))
        done["merges"] = self._complete_merges(now)
        done.update(self._digital(now))
        if any(done.values()):
            log.info("timers ran", **done)
        return done

    def _complete_merges(self, now: datetime) -> int:
        """Merges whose effective day has come move on what is still open under the
        merged library (ADR 0021); how many moved something."""
        with self.db.transaction() as conn:
            due = merges_due(conn, now.date())
        moved = 0
        for code in due:
            try:
                result = self.entry.act(TIMERS, CompleteMerge(code, now.date()))
            except Forbidden as exc:
                log.error("timer refused", kind="merge", library=code, why=str(exc))
                continue
            except DomainError as exc:
                log.info("timer skipped", kind="merge", library=code, why=str(exc))
                continue
            moved += int(any(result.get("moved", {}).values()))
        return moved

    def _digital(self, now: datetime) -> dict[str, int]:
        """Digital loans past their due time expire and offers past their pickup window
        lapse (ADR 0022), whether or not anyone uses the system; loans ended before the
        retention period forget their readers (ADR 0023)."""
        keep = self.reading_history_days
        with self.db.transaction() as conn:
            due = digital_due(conn, now)
            due["forget"] = [(work, "") for work in readers_to_forget(conn, now, keep)]
        steps: list[tuple[str, str, Callable[[str, str], Command[Any]]]] = [
            ("expire", "digital_expired", lambda work, loan: ExpireDigitalLoan(work, loan, now)),
            ("lapse", "offers_lapsed", lambda work, reader: LapseDigitalOffer(work, reader, now)),
            (
                "forget",
                "digital_readers_forgotten",
                lambda w, _: ForgetDigitalReaders(w, now.date(), keep),
            ),
        ]
        done: dict[str, int] = {}
        for kind, counter, command in steps:
            done[counter] = 0
            for work, ref in due[kind]:
                try:
                    self.entry.act(TIMERS, command(work, ref))
                    done[counter] += 1
                except Forbidden as exc:
                    log.error("timer refused", kind=counter, work=work, why=str(exc))
                except DomainError as exc:
                    log.info("timer skipped", kind=counter, work=work, why=str(exc))
        return done

    def run(self, stop: threading.Event, interval: float = 60.0) -> None:
        log.info("timers started", interval_s=interval)
        while not stop.is_set():
            try:
                self.run_once()
            except Exception as exc:
                log.warning("timers failed; retrying next round", error=repr(exc))
            stop.wait(interval)
