"""Which work of our union catalogue an outside peer's ISO 18626 `request` asks for, and
whether the library it addressed holds it (ADR 0028, amended 2026-12-02). A peer on
another system rarely knows our work codes: it names the item by what it has. We try, in
this order, the first that names a work:

1. `supplierUniqueRecordId`: our work code (what we send, and what our OAI-PMH/SRU give);
2. each `bibliographicItemId` coded ISBN: the work the MARC import matched that ISBN to;
3. each `bibliographicRecordId` whose code is one of our libraries: that library's own
   catalogue record (its control number), and the work it belongs to now;
4. `title`, `author` and the year of `publicationInfo/publicationDate`, normalised as the
   MARC import does: the work that claimed that title key.

Every lookup reads the event store (the matching keys are aggregates), never a read model
that may lag. Nothing found is an ERROR, UnrecognisedDataValue, naming what was tried; a
work the addressed library holds no copy of is the same ERROR, naming the libraries of
ours that do hold it (whom the peer may ask: their agency ids are their codes)."""

from __future__ import annotations

from collections.abc import Callable

from eventsourcing.application import AggregateNotFoundError

from domain.catalogue import Holding, Work
from domain.catalogue_record import CatalogueRecord, WorkKey, isbn13, title_key
from domain.errors import DomainError, NotFound
from domain.vietnamese_text import fold
from infra.iso18626_xml import Message, Refused
from infra.network_app import NetworkApp
from services import aggregates

ISBN_CODES = frozenset({"ISBN", "ISBN13", "ISBN10"})


def _get(store: NetworkApp, aggregate_id: object) -> object | None:
    try:
        return store.repository.get(aggregate_id)  # type: ignore[arg-type]
    except AggregateNotFoundError:
        return None


def _by_code(store: NetworkApp, code: str) -> Work | None:
    try:
        return aggregates.work(store, code) if code else None
    except (NotFound, DomainError):
        return None


def _by_key(store: NetworkApp, key: str) -> Work | None:
    claimed = _get(store, WorkKey.id_for(key))
    return _by_code(store, claimed.work) if isinstance(claimed, WorkKey) else None


def _by_record(store: NetworkApp, library: str, local_id: str) -> Work | None:
    record = _get(store, CatalogueRecord.id_for(library.strip().upper(), local_id.strip()))
    if not isinstance(record, CatalogueRecord) or record.deleted:
        return None
    return _by_code(store, record.work)


def _year(value: str) -> str:
    digits = "".join(c for c in value if c.isdigit())
    return digits[:4] if len(digits) >= 4 else ""


def find_work(store: NetworkApp, msg: Message) -> Work:
    """The work `msg` (a `request`) asks for, or Refused naming what was tried."""
    v = msg.values
    tried: list[str] = []
    code = v.get("work", "")
    if code:
        tried.append(f"supplierUniqueRecordId {code!r}")
        if found := _by_code(store, code):
            return found
    for scheme, value in msg.item_ids:
        if scheme.strip().upper() in ISBN_CODES:
            tried.append(f"ISBN {value!r}")
            isbn = isbn13(value)
            if isbn and (found := _by_key(store, f"isbn:{isbn}")):
                return found
    for scheme, value in msg.record_ids:
        tried.append(f"bibliographicRecordId {scheme}:{value}")
        if found := _by_record(store, scheme, value):
            return found
    title = v.get("title", "")
    if title:
        year = _year(v.get("publication_date", ""))
        tried.append(f"title {title[:80]!r}")
        if found := _by_key(store, title_key(fold(title), fold(v.get("author", "")), year)):
            return found
    what = ", ".join(tried) or "no identifier, no title"
    raise Refused(
        "UnrecognisedDataValue", f"bibliographicInfo: no work here matches ({what})"[:500]
    )


def check_held(
    store: NetworkApp, work: Work, library: str, holders: Callable[[], list[str]]
) -> None:
    """Refused unless `library` holds a copy of `work`; `holders`: who does (a hint, from
    the catalogue's read model, asked only then)."""
    holding = _get(store, Holding.id_for(work.code, library))
    if isinstance(holding, Holding) and holding.copies > 0:
        return
    others = ", ".join(sorted(h for h in holders() if h != library)) or "none of our libraries"
    raise Refused(
        "UnrecognisedDataValue",
        f"supplyingAgencyId: {library} holds no copy of {work.code}; held by: {others}",
    )
