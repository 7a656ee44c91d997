"""What rights may be recorded and what they allow; viewer links that only we can sign,
which tell their own expiry; the caps of a reader's digital shelf."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from domain.digital_errors import ReaderLimit
from domain.digital_rights import Rights
from domain.digital_shelf import HOLD, LOAN, DigitalShelf
from domain.digital_terms import MAX_LOANS_PER_READER, loan_period
from domain.errors import InvalidInput
from infra.viewer_links import Link, ViewerLinks

TODAY = date(2026, 12, 1)


def test_a_licence_names_its_terms_loans_and_expiry_and_allows_nothing_after_it() -> None:
    with pytest.raises(InvalidInput):
        Rights.of("licensed", terms="x", concurrent_loans=2)
    licence = Rights.of("licensed", terms="x", concurrent_loans=2, expires_on=TODAY)
    assert licence.ceiling(TODAY) == 2 and licence.ceiling(TODAY + timedelta(days=1)) == 0
    with pytest.raises(InvalidInput):
        Rights.of("public_domain", concurrent_loans=2)


def test_a_family_deposit_lends_only_with_consent_and_within_its_scope() -> None:
    with pytest.raises(InvalidInput):
        Rights.of("family_deposit", consent=True)  # whose?
    refused = Rights.of("family_deposit", owner="Dòng họ Trần")
    assert refused.ceiling(TODAY) == 0
    local = Rights.of("family_deposit", owner="Dòng họ Trần", consent=True, scope="holding_library")
    assert local.ceiling(TODAY) is None
    assert local.lends_to("HNM-TVT", "HNM-TVT") and not local.lends_to("HNM-TVT", "HNM-KB")
    with pytest.raises(InvalidInput):
        Rights.of("public_domain", scope="holding_library")
    assert Rights.of("not_lendable").ceiling(TODAY) == 0
    with pytest.raises(InvalidInput):
        Rights.of("fair_use")


def test_loan_periods_run_from_hours_to_weeks() -> None:
    assert loan_period("restricted", "adult") == timedelta(hours=4)
    assert loan_period("han_nom", "child") == timedelta(hours=48)
    assert loan_period("book", "researcher") == timedelta(weeks=3)
    with pytest.raises(InvalidInput):
        loan_period("book", "robot")


def test_a_viewer_link_is_ours_only_and_tells_its_expiry() -> None:
    links = ViewerLinks(b"k" * 32)
    until = datetime(2026, 12, 1, 9, 15, tzinfo=UTC)
    token = links.sign(Link("W-THANTICH", "loan-1", "l1", until))
    assert links.verify(token) == Link("W-THANTICH", "loan-1", "l1", until)
    assert ViewerLinks(b"x" * 32).verify(token) is None
    body, mac = token.split(".")
    other = ViewerLinks(b"k" * 32).sign(Link("W-HUONGUOC", "loan-1", "l1", until))
    assert links.verify(other.split(".")[0] + "." + mac) is None  # another work, same mac
    assert links.verify("garbage") is None and links.verify(body + ".") is None


def test_a_reader_shelf_caps_loans_and_holds() -> None:
    shelf = DigitalShelf.open("BD-1")
    for n in range(MAX_LOANS_PER_READER):
        shelf.take(f"W-{n}", LOAN)
    shelf.take("W-0", LOAN)  # the same again: nothing new
    with pytest.raises(ReaderLimit):
        shelf.take("W-X", LOAN)
    shelf.take("W-X", HOLD)
    shelf.release("W-0", LOAN)
    shelf.take("W-X", LOAN)
    assert shelf.loans == ["W-1", "W-2", "W-X"] and shelf.holds == ["W-X"]
