"""The union catalogue's candidates for a work, with outside ISO 18626 peers found by a
lookup hook (issue 17: "configured holdings or a lookup hook"; ADR 0028 as amended
2026-12-02). Beside the holders the catalogue knows, each peer listed in
`LIBSHARE_ISO18626_LOOKUPS` (its library code -> its SRU server) is asked, when the rota
of a request is made, whether its catalogue has the work: by the work's ISBNs (those of
our libraries' records of it), else by its title and author. A peer that says so is a
candidate like any holder (routing then decides, and puts it where its locality and
kind put it); a peer that does not answer within `LIBSHARE_ISO18626_LOOKUP_SECONDS` is
not one, and the request goes on without it."""

from __future__ import annotations

from collections.abc import Callable

import structlog

from domain.catalogue import Work
from domain.errors import DomainError
from domain.routing import Candidate
from infra.network_app import NetworkApp
from services import aggregates
from services.requests import CandidateFinder

log = structlog.get_logger("libshare.iso_lookup")


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def lookup_query(work: Work, isbns: list[str]) -> str:
    """The CQL that asks a peer's catalogue for `work`."""
    if isbns:
        return " or ".join(f"isbn = {_quoted(i)}" for i in isbns)
    query = f"title = {_quoted(work.title)}"
    return f"{query} and author = {_quoted(work.creator)}" if work.creator else query


class WithOutsideLookups:
    """A CandidateFinder: `inner`'s holders, and the peers whose lookup finds the work."""

    def __init__(
        self,
        inner: CandidateFinder,
        store: NetworkApp,
        lookups: dict[str, str],
        isbns: Callable[[str], list[str]],
        count: Callable[[str, str], int],
    ) -> None:
        self.inner = inner
        self.store = store
        self.lookups = {code.strip().upper(): url for code, url in lookups.items()}
        self.isbns = isbns
        self.count = count

    def __call__(self, work: str) -> list[Candidate]:
        found = list(self.inner(work))
        known = {c.library for c in found}
        asked = [(code, url) for code, url in self.lookups.items() if code not in known]
        if not asked:
            return found
        try:
            query = lookup_query(aggregates.work(self.store, work), self.isbns(work))
        except DomainError:
            return found
        for code, url in asked:
            try:
                hits = self.count(url, query)
            except Exception as exc:  # a peer away or broken: not a candidate this time
                log.warning("iso lookup failed", peer=code, error=repr(exc)[:300])
                continue
            if hits > 0:
                found.append(self._candidate(code))
        return found

    def _candidate(self, code: str) -> Candidate:
        library = aggregates.library(self.store, code)
        policy = library.policy
        return Candidate(
            library=library.code,
            kind=library.kind.value,
            locality=library.locality,
            available=1,  # (its catalogue has it; whether it is on the shelf, it answers)
            active_loans=0,
            max_active_loans=policy.max_active_loans,
            lends_kinds=policy.lends_kinds,
        )
