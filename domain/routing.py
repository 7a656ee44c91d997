"""Routing: which libraries are asked, in which order, and why (the rota). Pure: the
candidates' facts come in as values, every choice and exclusion goes out with a reason."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class WorkFacts:
    code: str
    kind: str
    shipping: str  # "allowed" | "never"
    visible_to: tuple[str, ...] = ()


@dataclass(frozen=True)
class Candidate:
    library: str
    kind: str
    locality: str
    available: int  # copies not on loan
    active_loans: int  # interlibrary loans it has out now
    max_active_loans: int
    lends_kinds: tuple[str, ...] = field(default=("book", "local_studies"))
    closed: str = ""  # why it takes no new work (merged into another library), if it does not


@dataclass(frozen=True)
class Rota:
    entries: list[dict[str, str]]  # {library, reason}: in the order they will be asked
    excluded: list[dict[str, str]]  # {library, reason}: holders not asked, and why


def build_rota(
    requester: str,
    requester_locality: str,
    work: WorkFacts,
    service_type: str,
    candidates: list[Candidate],
) -> Rota:
    """Candidates are within the work's visibility scope, hold an available copy, are never
    the requester itself, never lend an item that must not ship (for a loan), never a
    library whose policy does not lend the kind or that is at its loan limit; every holder
    left out is in `excluded` with its reason. Order: same locality first, then the
    provincial library, then the rest by load (fewest active loans), then by code.
    (The requester is within the scope: a work outside it does not exist for it.)"""
    chosen: list[tuple[tuple[int, int, str], dict[str, str]]] = []
    excluded: list[dict[str, str]] = []
    for c in candidates:
        reason = _exclusion(requester, work, service_type, c)
        if reason:
            excluded.append({"library": c.library, "reason": reason})
            continue
        if c.locality == requester_locality:
            rank, why = 0, f"same locality ({c.locality})"
        elif c.kind == "provincial":
            rank, why = 1, "provincial library"
        else:
            rank, why = 2, f"by load ({c.active_loans} active loans)"
        chosen.append(((rank, c.active_loans, c.library), {"library": c.library, "reason": why}))
    chosen.sort(key=lambda pair: pair[0])
    return Rota([entry for _, entry in chosen], sorted(excluded, key=lambda e: e["library"]))


def _exclusion(requester: str, work: WorkFacts, service_type: str, c: Candidate) -> str | None:
    if c.library == requester:
        return "is the requester"
    if c.closed:
        return c.closed
    if not visible(work, c.kind):
        return f"outside the work's visibility scope ({', '.join(work.visible_to)})"
    if work.shipping == "never" and service_type == "Loan":  # whatever is on its shelf
        return "never shipped: digital access only"
    if c.available <= 0:
        return "no available copy"
    if work.kind not in c.lends_kinds:
        return f"its policy does not lend {work.kind}"
    if c.active_loans >= c.max_active_loans:
        return f"at its limit of {c.max_active_loans} active loans"
    return None


def visible(work: WorkFacts, library_kind: str) -> bool:
    return not work.visible_to or library_kind in work.visible_to
