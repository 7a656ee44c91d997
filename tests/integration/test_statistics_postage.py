"""Postage and stuck shipments in the monthly statistics, from shipments dispatched through
commands (a Loaned or ShippedReturn action with a shipment)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from composition.bootstrap import System
from composition.demo_network import load_demo
from projections.runner import ProjectionRunner
from projections.shipments import statement
from projections.statistics import month_of, monthly
from tests.integration.support import carrier_update, ship_loan, ship_return
from tests.integration.test_projection_runner import drain

Network = tuple[System, ProjectionRunner]


@pytest.fixture
def network(system: System) -> Network:
    """The demo network loaded through commands, its read models current (routing reads
    the catalogue)."""
    load_demo(system)
    runner = system.make_runner()
    drain(system, runner)
    return system, runner


def this_month() -> date:
    return month_of(datetime.now(UTC))


def stats(system: System, month: date, **kw: Any) -> dict[str, Any]:
    with system.db.transaction() as conn:
        return monthly(conn, month, **kw)


def by_library(figures: dict[str, Any], column: str) -> dict[str, Any]:
    return {r["library"]: r[column] for r in figures["libraries"]}


def test_the_monthly_statistics_sum_the_postage_each_library_sent(network: Network) -> None:
    system, runner = network
    month = this_month()
    to_bh = ship_loan(system, "HNM-S-BH", "W-KIEU", "EB100000001VN", "40000")
    to_adt = ship_loan(system, "HNM-S-ADT", "W-KIEU", "EB100000002VN", "25500.50")
    assert (to_bh["supplier"], to_adt["supplier"]) == ("HNM-TVT", "HNM-DT")
    ship_return(system, to_bh["id"], "HNM-S-BH", "EB100000003VN", "38000")
    ship_loan(system, "HNM-S-APL", "W-KIEU", "EB100000004VN", "12000")  # HNM-TVT again
    drain(system, runner)

    figures = stats(system, month)

    assert by_library(figures, "postage") == {
        "HNM-DT": "25500.50",
        "HNM-S-ADT": "0.00",  # asked and received, sent nothing
        "HNM-S-APL": "0.00",
        "HNM-S-BH": "38000.00",  # the return trip
        "HNM-TVT": "52000.00",
    }
    assert figures["network"]["postage"] == "115500.50"
    assert "stuck" not in figures["network"]  # only when asked for, with a threshold
    # The same sums as the postage statements of the shipments read model.
    with system.db.transaction() as conn:
        costs: dict[str, Decimal] = {}
        for row in statement(conn, month):
            costs[row["library"]] = costs.get(row["library"], Decimal(0)) + row["cost"]
    assert {k: Decimal(v) for k, v in by_library(figures, "postage").items() if v != "0.00"} == (
        costs
    )


def test_stuck_shipments_are_counted_when_the_statistics_are_asked_for(network: Network) -> None:
    system, runner = network
    month, now = this_month(), datetime.now(UTC)
    ship_loan(system, "HNM-S-BH", "W-KIEU", "EB200000001VN", "40000")  # no carrier news
    ship_loan(system, "HNM-S-APL", "W-KIEU", "EB200000002VN", "40000")  # delivered
    ship_loan(system, "HNM-S-ADT", "W-KIEU", "EB200000003VN", "30000")  # news on day 7
    carrier_update(system, "d1", "EB200000002VN", "accepted", now + timedelta(hours=2))
    carrier_update(
        system, "d2", "EB200000002VN", "delivered", now + timedelta(days=1), signer="Trần Minh"
    )
    carrier_update(
        system, "t1", "EB200000003VN", "in_transit", now + timedelta(days=7), facility="Kim Bảng"
    )
    drain(system, runner)

    today = stats(system, month, stuck_after_days=5)
    ten_days_on = stats(system, month, stuck_after_days=5, now=now + timedelta(days=10))

    assert set(by_library(today, "stuck").values()) == {0} and today["network"]["stuck"] == 0
    assert {k: v for k, v in by_library(ten_days_on, "stuck").items() if v} == {"HNM-TVT": 1}
    assert ten_days_on["network"]["stuck"] == 1
    later = stats(system, month, stuck_after_days=5, now=now + timedelta(days=13))
    assert by_library(later, "stuck")["HNM-DT"] == 1 and later["network"]["stuck"] == 2
    # Stuck shipments are counted in the month they were dispatched, not in others.
    previous = (month - timedelta(days=1)).replace(day=1)
    earlier = stats(system, previous, stuck_after_days=5, now=now + timedelta(days=13))
    assert earlier["libraries"] == [] and earlier["network"]["stuck"] == 0
