"""The union catalogue's candidates for a work, with outside ISO 18626 peers found by a
lookup hook (issue 17: "configured holdings or a lookup hook"; ADR 0028 as amended
2026-12-02). Beside the holders the catalogue knows, each peer listed in
`LIBSHARE_ISO18626_LOOKUPS` (its library code -> its SRU server) is asked, when the rota
of a request is made, whether its catalogue has the work: by the work's ISBNs (those of
our libraries' records of it), else by its title and author. A peer that says so is a
candidate like any holder (routing then decides, and puts it where its locality and
kind put it); a peer that does not answer within `LIBSHARE_ISO18626_LOOKUP_SECONDS` is
not one, and the request goes on without it.

The peers are asked at once, each in a thread of its own, and the whole lookup waits at
most that time-out (not once per peer): a peer away delays the rota by the time-out, a
handful of them by no more. An answer is kept for `LIBSHARE_ISO18626_LOOKUP_CACHE_SECONDS`
(0: not kept), at most `CACHE_ENTRIES` answers, the oldest dropped first, so a popular
work routed again soon does not ask every peer again; a failure is not kept (the peer is
asked again next time), and an answer that comes after the time-out is kept for the next
rota."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait

import structlog

from domain.catalogue import Work
from domain.errors import DomainError
from domain.routing import Candidate
from infra.network_app import NetworkApp
from services import aggregates
from services.requests import CandidateFinder

log = structlog.get_logger("libshare.iso_lookup")

CACHE_ENTRIES = 4096  # answers kept at most (a peer, a query: a number)


class AnswerCache:
    """The peers' answers, each kept `seconds` (monotonic clock), at most `size` of them:
    the oldest kept is dropped first. Safe across threads."""

    def __init__(
        self, seconds: float, size: int = CACHE_ENTRIES, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.seconds = seconds
        self.size = size
        self.clock = clock
        self._kept: OrderedDict[tuple[str, str], tuple[float, int]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[str, str]) -> int | None:
        with self._lock:
            kept = self._kept.get(key)
            if kept is None:
                return None
            if kept[0] <= self.clock():
                del self._kept[key]
                return None
            return kept[1]

    def put(self, key: tuple[str, str], hits: int) -> None:
        if self.seconds <= 0:
            return
        with self._lock:
            self._kept.pop(key, None)
            self._kept[key] = (self.clock() + self.seconds, hits)
            while len(self._kept) > self.size:
                self._kept.popitem(last=False)


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
        *,
        timeout: float,
        cache: AnswerCache,
    ) -> None:
        self.inner = inner
        self.store = store
        self.lookups = {code.strip().upper(): url for code, url in lookups.items()}
        self.isbns = isbns
        self.count = count
        self.timeout = timeout
        self.cache = cache

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
        hits = {code: self.cache.get((url, query)) for code, url in asked}
        to_ask = [(code, url) for code, url in asked if hits[code] is None]
        if to_ask:
            pool = ThreadPoolExecutor(len(to_ask), thread_name_prefix="iso-lookup")
            futures = {code: pool.submit(self._ask, code, url, query) for code, url in to_ask}
            pool.shutdown(wait=False)  # (each thread ends by its own HTTP time-out)
            done, late = wait(futures.values(), timeout=self.timeout)
            for code, future in futures.items():
                hits[code] = future.result() if future in done else None
                if future in late:
                    log.warning("iso lookup timed out", peer=code, seconds=self.timeout)
        for code, _ in asked:  # (in the order configured: routing decides among them)
            if (hits[code] or 0) > 0:
                found.append(self._candidate(code))
        return found

    def _ask(self, code: str, url: str, query: str) -> int | None:
        try:
            hits = self.count(url, query)
        except Exception as exc:  # a peer away or broken: not a candidate this time
            log.warning("iso lookup failed", peer=code, error=repr(exc)[:300])
            return None
        self.cache.put((url, query), hits)
        return hits

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
