"""The department's figures for one month, read from the read models the statistics API
reads (projections/statistics.py `monthly`, projections/shipments.py `statement`,
projections/transfers.py `rotation_statistics`), never computed again another way, and
cut to what the caller may see: the whole network, or one library's own rows.

Each table is a list of columns (the name the API gives the figure, and how the page
writes it); the page and its CSV download are made from the same table."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import psycopg

from api.ui_figures import number, percent
from infra.clock import utc_now
from projections.shipments import statement
from projections.statistics import monthly
from projections.transfers import rotation_statistics

Shown = Callable[[Any, str], str]


def count(value: Any, lang: str) -> str:
    return number(value, lang)


def hours(value: Any, lang: str) -> str:
    return number(value, lang, 1)


def money(value: Any, lang: str) -> str:
    return number(value, lang)


def rate(value: Any, lang: str) -> str:
    return percent(value, lang)


def plain(value: Any, lang: str) -> str:
    return "—" if value in (None, "") else str(value)


# table -> its columns: (the figure's name, as the API and the CSV give it; how shown)
COLUMNS: dict[str, list[tuple[str, Shown]]] = {
    "monthly": [
        ("library", plain),
        ("requested", count),
        ("filled", count),
        ("unfilled", count),
        ("cancelled", count),
        ("supplied", count),
        ("fill_rate", rate),
        ("avg_turnaround_hours", hours),
        ("postage", money),
        ("stuck", count),
    ],
    "volume": [
        ("month", plain),
        ("library", plain),
        ("requested", count),
        ("filled", count),
        ("supplied", count),
    ],
    "postage": [
        ("library", plain),
        ("partner", plain),
        ("shipments", count),
        ("cost", money),
        ("subsidy", money),
        ("payable", money),
    ],
    "rotations": [
        ("library", plain),
        ("copies_at_month_end", count),
        ("copy_days", count),
        ("average_copies", hours),
        ("rotations", count),
    ],
}
VOLUME_MONTHS = 12  # the volume table: this month and the eleven before it


@dataclass(frozen=True)
class Seen:
    """What a caller may see: every library (`library` None) or one library's own rows;
    and the postage statements, of every library (`postage` None), of one, or none."""

    library: str | None
    postage: bool
    postage_library: str | None


def month_back(first: date, months: int) -> date:
    for _ in range(months):
        first = (first - timedelta(days=1)).replace(day=1)
    return first


def figures(
    conn: psycopg.Connection[Any], first: date, seen: Seen, stuck_after_days: int, today: date
) -> dict[str, Any]:
    """The month's tables (rows of the API's figures) as `seen` allows, and the network's
    totals where the caller sees the whole network."""
    month = monthly(conn, first, stuck_after_days=stuck_after_days, now=utc_now())
    volume: list[dict[str, Any]] = []
    for back in range(VOLUME_MONTHS - 1, -1, -1):
        m = month_back(first, back)
        rows = monthly(conn, m)["libraries"] if back else month["libraries"]
        volume += [{"month": m.isoformat()[:7], **r} for r in _cut(rows, seen)]
    postage = statement(conn, first, seen.postage_library or seen.library) if seen.postage else []
    rotations = rotation_statistics(conn, first, today)
    return {
        "month": month["month"],
        "monthly": _cut(month["libraries"], seen),
        "network": month["network"] if seen.library is None else None,
        "volume": volume,
        "postage": postage,
        "rotations": _cut(rotations["libraries"], seen),
        "rotation_days": rotations["days_counted"],
    }


def _cut(rows: list[dict[str, Any]], seen: Seen) -> list[dict[str, Any]]:
    return rows if seen.library is None else [r for r in rows if r["library"] == seen.library]


def per_month(volume: list[dict[str, Any]], first: date) -> list[tuple[str, int, int]]:
    """Requests made and filled in each month of the volume table (all months shown, a
    month without any as zero), summed over the libraries the caller sees."""
    months = [month_back(first, b).isoformat()[:7] for b in range(VOLUME_MONTHS - 1, -1, -1)]
    made = dict.fromkeys(months, 0)
    filled = dict.fromkeys(months, 0)
    for r in volume:
        made[r["month"]] += r["requested"]
        filled[r["month"]] += r["filled"]
    return [(m, made[m], filled[m]) for m in months]


def postage_per_library(rows: list[dict[str, Any]]) -> list[tuple[str, Decimal, Decimal]]:
    """Postage cost and subsidy per library, summed over its partners."""
    found: dict[str, list[Decimal]] = {}
    for r in rows:
        cost, subsidy = found.setdefault(r["library"], [Decimal(0), Decimal(0)])
        found[r["library"]] = [cost + Decimal(r["cost"]), subsidy + Decimal(r["subsidy"])]
    return [(lib, c, s) for lib, (c, s) in sorted(found.items())]
