"""Importing a library's MARC21 catalogue into the union catalogue (ADR 0025). A record's
aggregate, the work it creates or merges into (with the rule that decided), the keys it
claims, its holding and its copies are saved together or not at all: 500 records to a
transaction, or, when a batch fails, each record in its own. A record already imported
with the same content records nothing, so a re-import of the same file changes nothing.
A merge is reversed by `separate`; a record deleted at its source by `delete`."""

from __future__ import annotations

import contextvars
import gc
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError

from domain.access import Actor
from domain.catalogue import Holding, Work
from domain.catalogue_record import NEW_WORK, CatalogueRecord, WorkKey, match_keys, rule_of
from domain.copy import Copy
from domain.errors import DomainError, NotFound
from infra.network_app import NetworkApp
from services import aggregates
from services.copies import numbered_barcode
from services.marc_records import Parsed, Rejected, read_aside

Progress = Callable[[int], None]  # called with the number of records done so far


@dataclass
class ImportReport:
    library: str
    created: list[str] = field(default_factory=list)  # control numbers: new works
    merged: list[dict[str, str]] = field(default_factory=list)  # into a work, by a rule
    updated: list[str] = field(default_factory=list)
    unchanged: int = 0
    rejected: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "library": self.library,
            "read": len(self.created)
            + len(self.merged)
            + len(self.updated)
            + self.unchanged
            + len(self.rejected),
            "created": len(self.created),
            "merged": self.merged,
            "updated": len(self.updated),
            "unchanged": self.unchanged,
            "rejected": self.rejected,
        }


BATCH = 500  # records saved in one transaction when nothing goes wrong


@dataclass
class _Saving:
    """A batch being saved (future None: the domain refused one of its records)."""

    library: str
    batch: list[Parsed]
    part: ImportReport
    future: Future[None] | None


class _Lookups:
    """The aggregates an import looks up: those it made or changed in this batch first,
    then, for ids the batch asked about in bulk and found missing, none; else the store."""

    def __init__(self, store: NetworkApp, ids: list[UUID]) -> None:
        self.store = store
        self.pending: dict[UUID, Aggregate] = {}
        self.order: list[UUID] = []
        self.missing = set(ids) - store.stored_ids(ids)

    def get(self, aggregate_id: UUID) -> Any:
        if aggregate_id in self.pending:
            return self.pending[aggregate_id]
        if aggregate_id in self.missing:
            return None
        try:
            return self.store.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return None

    def keep(self, *aggregates: Aggregate) -> None:
        for aggregate in aggregates:
            if aggregate.id not in self.pending:
                self.order.append(aggregate.id)
            self.pending[aggregate.id] = aggregate

    def changed(self) -> list[Aggregate]:
        return [self.pending[i] for i in self.order]


# Ids are uuid5 digests, cached by the aggregates: an import asks for each a few times.
_record_id = CatalogueRecord.id_for
_key_id = WorkKey.id_for
_work_id = Work.id_for
_holding_id = Holding.id_for
_copy_id = Copy.id_for


def _lookup_keys(parsed: Parsed) -> list[str]:
    """The keys a record is matched by, in order: those it claims (its ISBNs, its title,
    author and year), then its title and author, which only registered works claim."""
    keys = match_keys(parsed.description.isbns, parsed.title_key)
    return [*keys, parsed.title_author_key] if parsed.title_author_key else keys


def _ids(library: str, parsed: Parsed) -> list[UUID]:
    """Every aggregate a record's import may look up."""
    keys = _lookup_keys(parsed)
    work = parsed.new_work_code
    barcodes = list(parsed.description.items) or [numbered_barcode(library, work, 1)]
    return [
        _record_id(library, parsed.local_id),
        *(_key_id(k) for k in keys),
        _work_id(work),
        _holding_id(work, library),
        *(_copy_id(b) for b in barcodes),
    ]


class _CollectionPause:
    """No automatic cyclic garbage collection while an import runs (measured: 0.4-0.9 s of
    a 2,000-record import's 3-4 s went to it, mostly full collections walking the whole
    heap, for objects that reference counting frees anyway: records, aggregates and
    events hold no cycles). The collector is process-wide: the first import to start
    turns it off, the last to end turns it back on as it found it."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.running = 0
        self.was_enabled = False

    @contextmanager
    def __call__(self) -> Iterator[None]:
        with self.lock:
            if self.running == 0:
                self.was_enabled = gc.isenabled()
                gc.disable()
            self.running += 1
        try:
            yield
        finally:
            with self.lock:
                self.running -= 1
                if self.running == 0 and self.was_enabled:
                    gc.enable()


_collection_paused = _CollectionPause()


class CatalogueImportService:
    def __init__(self, store: NetworkApp) -> None:
        self.store = store

    def _get(self, aggregate_id: UUID) -> Any:
        try:
            return self.store.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return None

    def import_file(
        self, actor: Actor, library: str, data: bytes, progress: Progress | None = None
    ) -> ImportReport:
        """Import a file's records in batches of BATCH, each batch in one transaction; a
        batch that fails (another import took a key meanwhile, a record the domain
        refuses) is imported again record by record, each in its own transaction. While
        a batch is saved, the next one is read (a second thread: the save mostly waits
        on PostgreSQL); it is matched only once the save is done. A large file is parsed
        in a child process meanwhile (`read_aside`), in file order."""
        code = aggregates.library(self.store, library).code
        report = ImportReport(code)
        done = 0
        batch: list[Parsed] = []
        with (
            _collection_paused(),
            ThreadPoolExecutor(1, thread_name_prefix="catalogue-import") as saver,
        ):
            saving: _Saving | None = None
            for parsed in read_aside(data, code):
                done += 1
                if isinstance(parsed, Rejected):
                    reason = _rejection(parsed.position, parsed.local_id, parsed.reason)
                    report.rejected.append(reason)
                else:
                    batch.append(parsed)
                if len(batch) >= BATCH:
                    self._saved(actor, saving, report)
                    saving = self._save_batch(saver, actor, code, batch)
                    batch = []
                if progress is not None and (done % 100 == 0 or not batch):
                    progress(done)
            self._saved(actor, saving, report)
            self._saved(actor, self._save_batch(saver, actor, code, batch), report)
        if progress is not None:
            progress(done)
        return report

    def _save_batch(
        self, saver: ThreadPoolExecutor, actor: Actor, library: str, batch: list[Parsed]
    ) -> _Saving | None:
        """Match and build a batch's aggregates, and start saving them."""
        if not batch:
            return None
        part = ImportReport(library)
        try:
            lookups = _Lookups(self.store, [i for p in batch for i in _ids(library, p)])
            for parsed in batch:
                self._import_one(lookups, library, parsed, part)
        except DomainError:
            return _Saving(library, batch, part, None)
        save = partial(self.store.record, *lookups.changed(), actor=actor)
        return _Saving(library, batch, part, saver.submit(contextvars.copy_context().run, save))

    def _saved(self, actor: Actor, saving: _Saving | None, report: ImportReport) -> None:
        """Wait for a batch's save; if it failed, import its records one by one: the
        others go in, the bad one is told."""
        if saving is None:
            return
        failed = saving.future is None
        if saving.future is not None:
            try:
                saving.future.result()
            except (IntegrityError, DomainError):
                failed = True
        if failed:
            for parsed in saving.batch:
                self._import_alone(actor, saving.library, parsed, report)
            return
        part = saving.part
        report.created += part.created
        report.merged += part.merged
        report.updated += part.updated
        report.unchanged += part.unchanged

    def _import_alone(
        self, actor: Actor, library: str, parsed: Parsed, report: ImportReport
    ) -> None:
        for attempt in (1, 2):  # again once if another import took a key meanwhile
            part = ImportReport(library)
            try:
                lookups = _Lookups(self.store, _ids(library, parsed))
                self._import_one(lookups, library, parsed, part)
                self.store.record(*lookups.changed(), actor=actor)
            except IntegrityError:
                if attempt == 2:
                    raise
                continue
            except DomainError as exc:
                report.rejected.append(_rejection(parsed.position, parsed.local_id, exc.detail))
                return
            report.created += part.created
            report.merged += part.merged
            report.updated += part.updated
            report.unchanged += part.unchanged
            return

    def _import_one(
        self, lookups: _Lookups, library: str, parsed: Parsed, report: ImportReport
    ) -> None:
        record: CatalogueRecord | None = lookups.get(_record_id(library, parsed.local_id))
        if record is not None:
            if not record.update(parsed.fingerprint, parsed.description, parsed.marcxml):
                report.unchanged += 1
                return
            lookups.keep(record, *self._holding(lookups, library, record.work, parsed))
            report.updated.append(parsed.local_id)
            return
        keys = match_keys(parsed.description.isbns, parsed.title_key)
        tried = _lookup_keys(parsed)
        claimed = {key: found.work for key in tried if (found := lookups.get(_key_id(key)))}
        match = next((key for key in tried if key in claimed), None)
        if match is not None:
            work_code, rule = claimed[match], rule_of(match)
        else:
            work_code, rule = parsed.new_work_code, NEW_WORK
        made: list[Aggregate] = [
            CatalogueRecord.import_(
                library,
                parsed.local_id,
                work_code,
                rule,
                parsed.fingerprint,
                parsed.description,
                parsed.marcxml,
            )
        ]
        if match is None and lookups.get(_work_id(work_code)) is None:
            d = parsed.description
            made.append(Work.register(work_code, d.title, "book", creator=d.creator))
        made += [WorkKey.claim(key, work_code) for key in keys if key not in claimed]
        lookups.keep(*made, *self._holding(lookups, library, work_code, parsed))
        if rule == NEW_WORK:
            report.created.append(parsed.local_id)
        else:
            report.merged.append({"record": parsed.local_id, "work": work_code, "rule": rule})

    def _holding(
        self, lookups: _Lookups, library: str, work: str, parsed: Parsed
    ) -> list[Aggregate]:
        """The library's holding of `work` and its copies: one per barcode, or one numbered
        copy for a record that lists no items. Copies already registered stay as they are
        (a re-import never withdraws one: that is the desk's to do)."""
        barcodes = list(parsed.description.items) or [numbered_barcode(library, work, 1)]
        new_copies: list[Aggregate] = [
            Copy.register(barcode, work, library)
            for barcode in barcodes
            if lookups.get(_copy_id(barcode)) is None
        ]
        holding: Holding | None = lookups.get(_holding_id(work, library))
        if holding is None:
            return [Holding.register(work, library, len(new_copies)), *new_copies]
        if new_copies:
            holding.change_copies(holding.copies + len(new_copies), holding.digital_lendable)
            return [holding, *new_copies]
        return []

    def delete(self, actor: Actor, library: str, local_ids: tuple[str, ...], reason: str) -> int:
        """The library's system deleted these records (an OAI-PMH deleted header): each is
        marked deleted, once; returns how many were live. Unknown ones are skipped."""
        code = aggregates.library(self.store, library).code
        deleted = 0
        for local_id in local_ids:
            record = self._get(_record_id(code, local_id))
            if isinstance(record, CatalogueRecord) and record.delete(reason):
                self.store.record(record, actor=actor)
                deleted += 1
        return deleted

    def separate(self, actor: Actor, library: str, local_id: str, reason: str) -> dict[str, Any]:
        """Reverse a merge: the record gets a work of its own (registered from its
        description) and leaves the other work's search text, and the library's copies
        the record brought (its items, or the one numbered copy of an item-less record)
        go with it, with the holdings' counts: all in one transaction (ADR 0025)."""
        code = aggregates.library(self.store, library).code
        record: CatalogueRecord | None = self._get(_record_id(code, local_id))
        if record is None:
            raise NotFound(f"no record {local_id!r} of {code} in the union catalogue")
        work_code = f"W-R{_record_id(code, local_id).hex[:16].upper()}"
        previous = record.work
        record.separate(work_code, reason)
        d = record.description
        changed: list[Aggregate] = [record]
        if self._get(_work_id(work_code)) is None:
            changed.append(Work.register(work_code, d.title, "book", creator=d.creator))
        barcodes = list(d.items) or [numbered_barcode(code, previous, 1)]
        moved = [
            copy
            for barcode in barcodes
            if isinstance(copy := self._get(_copy_id(barcode)), Copy)
            and copy.work == previous
            and copy.owner == code
            and copy.recatalogue(work_code, reason)
        ]
        changed += [*moved, *self._holdings_after_move(code, previous, work_code, len(moved))]
        self.store.record(*changed, actor=actor)
        return {
            "record": local_id,
            "library": code,
            "work": work_code,
            "was": previous,
            "copies": sorted(c.barcode for c in moved),
        }

    def _holdings_after_move(
        self, library: str, previous: str, work: str, moved: int
    ) -> list[Aggregate]:
        """The library's holding of the work its copies left counts that many fewer; its
        holding of the work they joined counts them."""
        if moved == 0:
            return []
        changed: list[Aggregate] = []
        old: Holding | None = self._get(_holding_id(previous, library))
        if old is not None:
            left = max(0, old.copies - moved)
            old.change_copies(left, min(old.digital_lendable, left))
            changed.append(old)
        new: Holding | None = self._get(_holding_id(work, library))
        if new is None:
            return [*changed, Holding.register(work, library, moved)]
        new.change_copies(new.copies + moved, new.digital_lendable)
        return [*changed, new]


def _rejection(position: int, local_id: str | None, reason: str) -> dict[str, Any]:
    return {"position": position, "record": local_id, "reason": reason}
