"""Routing on the real event store: a holder outside a restricted work's visibility scope
is recorded among the excluded with its reason, never dropped silently; the work stays
invisible to libraries outside the scope."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from composition.bootstrap import System
from composition.demo_network import load_demo
from domain.access import DEMO_LOADER
from domain.errors import NotFound
from domain.ill_request import IllRequest
from services.commands import RegisterHolding
from tests.actors import TESTER
from tests.integration.support import eventually

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


def test_a_holder_outside_the_scope_of_a_restricted_work_is_excluded_with_the_reason(
    system: System,
) -> None:
    load_demo(system)
    # a school holds a copy too
    system.entry.act(DEMO_LOADER, RegisterHolding("W-QS-TAILIEU", "HNM-S-BH", 1))
    system.start_projector()
    eventually(lambda: len(system.candidate_finder("W-QS-TAILIEU")) == 3, what="the catalogue")
    created = system.requests.request_item(
        TESTER, requester="HNM-CA", work="W-QS-TAILIEU", reader_ref="CA-7", now=NOW
    )
    req: IllRequest = system.requests.get_request(created["id"])
    assert [e["library"] for e in req.rota] == ["HNM-QS"]
    assert {
        "library": "HNM-S-BH",
        "reason": "outside the work's visibility scope (armed_forces)",
    } in (req.excluded)
    assert req.party_of("HNM-S-BH") is None  # never asked, never a party
    with pytest.raises(NotFound):  # and for the school the work still does not exist
        system.requests.request_item(
            TESTER, requester="HNM-S-BH", work="W-QS-TAILIEU", reader_ref="x", now=NOW
        )
