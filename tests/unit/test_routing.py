"""Routing over the demo network, without I/O: who is asked, in which order, and why."""

from __future__ import annotations

from typing import Any

from composition.demo_network import DEMO_POLICIES, demo_network
from domain.lending_policy import DEFAULT_POLICY
from domain.routing import Candidate, WorkFacts, build_rota, visible

NET = demo_network()
LIBS = {lib["code"]: lib for lib in NET["libraries"]}
WORKS = {w["id"]: w for w in NET["works"]}


def facts(work: str) -> WorkFacts:
    w = WORKS[work]
    return WorkFacts(work, w["kind"], w.get("shipping", "allowed"), tuple(w.get("visible_to", [])))


def candidates(
    work: str, loans: dict[str, int] | None = None, out: dict[str, int] | None = None
) -> list[Candidate]:
    found = []
    for h in NET["holdings"]:
        if h["work"] != work:
            continue
        lib = LIBS[h["library"]]
        policy = DEMO_POLICIES.get(lib["kind"], DEFAULT_POLICY)
        found.append(
            Candidate(
                library=lib["code"],
                kind=lib["kind"],
                locality=lib["locality"],
                available=h["copies"] - (out or {}).get(lib["code"], 0),
                active_loans=(loans or {}).get(lib["code"], 0),
                max_active_loans=policy.max_active_loans,
                lends_kinds=policy.lends_kinds,
            )
        )
    return found


def rota(requester: str, work: str, service: str = "Loan", **kw: Any) -> list[str]:
    lib = LIBS[requester]
    result = build_rota(requester, lib["locality"], facts(work), service, candidates(work, **kw))
    return [e["library"] for e in result.entries]


def test_the_same_locality_comes_first_then_the_provincial_library_then_by_load() -> None:
    assert rota("HNM-S-ADT", "W-KIEU") == ["HNM-DT", "HNM-TVT", "HNM-KB"]
    assert rota("HNM-S-ABL", "W-CHIPHEO", loans={"HNM-LN": 3}) == [
        "HNM-TVT",
        "HNM-S-BH",
        "HNM-LN",
    ]  # no Bình Lục holder; the busier one last


def test_the_requester_never_asks_itself() -> None:
    assert "HNM-TVT" not in rota("HNM-TVT", "W-KIEU")


def test_a_never_shipped_work_is_not_lent_but_can_be_copied() -> None:
    result = build_rota("HNM-DT", "Duy Tiên", facts("W-HUONGUOC"), "Loan", candidates("W-HUONGUOC"))
    assert result.entries == []
    assert result.excluded == [
        {"library": "HNM-TVT", "reason": "never shipped: digital access only"}
    ]
    assert rota("HNM-DT", "W-HUONGUOC", "Copy") == ["HNM-TVT"]


def test_restricted_works_are_visible_to_armed_forces_only_and_lent_among_them() -> None:
    work = facts("W-QS-TAILIEU")
    assert not visible(work, "school") and visible(work, "armed_forces")
    assert rota("HNM-CA", "W-QS-TAILIEU") == ["HNM-QS"]


def test_a_library_without_an_available_copy_or_at_its_limit_is_excluded_with_a_reason() -> None:
    lib = LIBS["HNM-S-ADT"]
    result = build_rota(
        "HNM-S-ADT",
        lib["locality"],
        facts("W-KIEU"),
        "Loan",
        candidates("W-KIEU", loans={"HNM-TVT": 20}, out={"HNM-DT": 2}),
    )
    assert [e["library"] for e in result.entries] == ["HNM-KB"]
    assert result.excluded == [
        {"library": "HNM-DT", "reason": "no available copy"},
        {"library": "HNM-TVT", "reason": "at its limit of 20 active loans"},
    ]


def test_a_library_whose_policy_does_not_lend_the_kind_is_excluded() -> None:
    lib = LIBS["HNM-S-ATL"]
    books_only = [
        Candidate(
            c.library,
            c.kind,
            c.locality,
            c.available,
            c.active_loans,
            c.max_active_loans,
            ("book",),
        )
        if c.library == "HNM-PL"
        else c
        for c in candidates("W-DIACHI-HN")
    ]
    result = build_rota("HNM-S-ATL", lib["locality"], facts("W-DIACHI-HN"), "Loan", books_only)
    assert [e["library"] for e in result.entries] == ["HNM-TVT"]
    assert result.excluded == [
        {"library": "HNM-PL", "reason": "its policy does not lend local_studies"}
    ]


def test_a_holder_outside_a_restricted_works_scope_is_excluded_with_a_reason() -> None:
    school = Candidate("HNM-S-BH", "school", "Phủ Lý", 1, 0, 5, ("book", "restricted"))
    result = build_rota(
        "HNM-CA", "Phủ Lý", facts("W-QS-TAILIEU"), "Loan", [*candidates("W-QS-TAILIEU"), school]
    )
    assert [e["library"] for e in result.entries] == ["HNM-QS"]
    assert result.excluded == [
        {"library": "HNM-CA", "reason": "is the requester"},
        {"library": "HNM-S-BH", "reason": "outside the work's visibility scope (armed_forces)"},
    ]
