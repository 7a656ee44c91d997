"""The OAI-PMH harvester (ADR 0025): keeps each configured library's records in step with
its own system's OAI-PMH provider (Koha, VietBiblio, another libshare, ...). Each run asks
for what changed since the last run (with an overlap, for commits that land late), follows
resumption tokens page by page, imports each page's MARCXML records through the one entry
(a re-import of an unchanged record changes nothing) and marks deleted ones deleted. Its
position is saved after every page: a run cut short goes on from its token."""

from __future__ import annotations

import threading
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from lxml import etree

from domain.access import CATALOGUE_IMPORTER
from domain.errors import DomainError
from infra.harvest_positions import HarvestPositions, Position
from services.commands import DeleteRecords, ImportCatalogue
from services.entry import Entry
from services.marc_records import Parsed, read

log = structlog.get_logger("libshare.harvest")
OAI = "{http://www.openarchives.org/OAI/2.0/}"
MARC = "http://www.loc.gov/MARC21/slim"
OVERLAP = timedelta(minutes=5)
Fetch = Callable[[str, dict[str, str]], bytes]


class HarvestError(Exception):
    """The provider answered an OAI-PMH error (other than noRecordsMatch)."""


@dataclass
class HarvestReport:
    library: str
    pages: int = 0
    created: int = 0
    updated: int = 0
    merged: int = 0
    unchanged: int = 0
    deleted: int = 0
    rejected: list[dict[str, Any]] = field(default_factory=list)


def source(spec: str) -> tuple[str, str | None]:
    """A configured source, `https://host/oai?set=X`: its base URL and its set."""
    parts = urllib.parse.urlsplit(spec)
    query = dict(urllib.parse.parse_qsl(parts.query))
    base = urllib.parse.urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
    return base, query.get("set")


class Harvester:
    def __init__(
        self,
        entry: Entry,
        positions: HarvestPositions,
        fetch: Fetch,
        sources: dict[str, str],
        clock: Callable[[], datetime],
    ) -> None:
        self.entry = entry
        self.positions = positions
        self.fetch = fetch
        self.sources = {code.upper(): spec for code, spec in sources.items()}
        self.clock = clock

    def run_once(self) -> list[HarvestReport]:
        reports = []
        for library, spec in sorted(self.sources.items()):
            try:
                reports.append(self.harvest(library, spec))
            except (OSError, HarvestError, etree.XMLSyntaxError, DomainError) as exc:
                log.warning("harvest failed", library=library, source=spec, error=repr(exc))
        return reports

    def run(self, stop: threading.Event, interval: float) -> None:
        while not stop.is_set():
            self.run_once()
            stop.wait(interval)

    def harvest(self, library: str, spec: str) -> HarvestReport:
        base, set_spec = source(spec)
        report = HarvestReport(library)
        at = self.positions.get(library, base)
        started = at.list_started_at or self.clock()
        token = at.resumption_token
        while True:
            if token:
                params = {"verb": "ListRecords", "resumptionToken": token}
            else:
                params = {"verb": "ListRecords", "metadataPrefix": "marcxml"}
                if set_spec:
                    params["set"] = set_spec
                if at.next_from is not None:
                    params["from"] = at.next_from.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            page = etree.fromstring(self.fetch(base, params))
            error = page.find(f"{OAI}error")
            if error is not None and error.get("code") == "badResumptionToken" and token:
                token = None  # an expired token: this list again from its start
                continue
            if error is not None and error.get("code") != "noRecordsMatch":
                raise HarvestError(f"{error.get('code')}: {error.text}")
            identifiers = self._page(library, page, report) if error is None else {}
            report.pages += 1
            token = page.findtext(f"{OAI}ListRecords/{OAI}resumptionToken") or None
            finished = token is None
            position = (
                Position(started - OVERLAP, None, None)
                if finished
                else Position(at.next_from, token, started)
            )
            self.positions.save(library, base, position, identifiers, finished)
            if finished:
                log.info("harvested", **{k: v for k, v in vars(report).items() if k != "rejected"})
                return report

    def _page(self, library: str, page: etree._Element, report: HarvestReport) -> dict[str, str]:
        """Import a page's records and delete its deleted ones; the identifiers it named."""
        collection = etree.Element(f"{{{MARC}}}collection", nsmap={None: MARC})
        named: dict[str, str] = {}
        gone: list[str] = []
        for record in page.iterfind(f"{OAI}ListRecords/{OAI}record"):
            identifier = record.findtext(f"{OAI}header/{OAI}identifier") or ""
            if record.find(f"{OAI}header").get("status") == "deleted":
                gone.append(identifier)
                continue
            marc = record.find(f"{OAI}metadata/{{{MARC}}}record")
            if marc is None:
                report.rejected.append({"record": identifier, "reason": "no MARCXML metadata"})
                continue
            one = etree.tostring(marc)
            parsed = next(read(one, library), None)
            if isinstance(parsed, Parsed):
                named[identifier] = parsed.local_id
            collection.append(marc)
        if len(collection):
            data = etree.tostring(collection, xml_declaration=True, encoding="UTF-8")
            done = self.entry.act(CATALOGUE_IMPORTER, ImportCatalogue(library, data))
            report.created += len(done.created)
            report.updated += len(done.updated)
            report.merged += len(done.merged)
            report.unchanged += done.unchanged
            report.rejected += done.rejected
        if gone:
            local = self.positions.local_ids(library, gone)
            ids = tuple(local[i] for i in gone if i in local)
            reason = "deleted in the library's own system"
            report.deleted += self.entry.act(
                CATALOGUE_IMPORTER, DeleteRecords(library, ids, reason)
            )
        return named
