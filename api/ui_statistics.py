"""Statistics for the department in the web UI (issue 21, item 6): fill rate, turnaround,
volume per library and month, postage and subsidy, rotations — each a chart drawn on the
server (api/ui_charts.py) with its figures as a table and a CSV download. The department,
auditors and the network administrator see every library (`statistics.read`); a
library's staff see their own library's rows (`statistics.library.read`); the postage
statements, with the subsidy, show to those who may read them (`postage.read`)."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import Response

from api.auth import ui_principal
from api.deps import system
from api.fields import MONTH
from api.i18n import TEXT
from api.ui_charts import Chart, bar_chart
from api.ui_figures import csv_download, number, percent
from api.ui_gate import leave, signed_in
from api.ui_guard import HEADERS, guard, language
from api.ui_render import redirect, render
from api.ui_statistics_tables import (
    COLUMNS,
    Seen,
    figures,
    month_back,
    per_month,
    postage_per_library,
)
from api.ui_words import Words
from composition.bootstrap import System
from domain.access import Permission, Principal, may
from infra.clock import utc_now

router = APIRouter(include_in_schema=False)
Month = Annotated[str, Query()]  # checked by `_month`: a bad one gets its message


def seen_by(me: Principal) -> Seen | None:
    """What `me` may see of the statistics, by the policy (None: nothing)."""
    if may(me, Permission.STATISTICS_READ) is not None:
        library = None
    elif me.library and may(me, Permission.LIBRARY_STATISTICS_READ, library=me.library):
        library = me.library
    else:
        return None
    if may(me, Permission.POSTAGE_READ) is not None:
        return Seen(library, True, None)
    own = bool(me.library) and may(me, Permission.POSTAGE_READ, library=me.library) is not None
    return Seen(library, own, me.library if own else None)


def _month(month: str) -> date | None:
    if not month:
        return utc_now().date().replace(day=1)
    return date.fromisoformat(f"{month}-01") if re.fullmatch(MONTH, month) else None


def _following(first: date) -> str | None:
    """The next month, if it has begun."""
    following = (first + timedelta(days=32)).replace(day=1)
    return following.isoformat()[:7] if following <= utc_now().date() else None


def _open(request: Request, me: Principal | None, month: str, path: str) -> tuple[Seen, date]:
    """What the signed-in account may see, and the month asked for; else off to sign in,
    or told why not."""
    seen = seen_by(signed_in(request, me))
    if seen is None:
        raise leave(request, "/", "stats_not_yours")
    first = _month(month)
    if first is None:
        raise leave(request, path, "stats_bad_month")
    return seen, first


@router.get("/ui/statistics")
def statistics_page(
    request: Request,
    sys: Annotated[System, Depends(system)],
    me: Annotated[Principal | None, Depends(ui_principal)],
    month: Month = "",
) -> Response:
    seen, first = _open(request, me, month, "/ui/statistics")
    lang = language(request)
    t = Words(lang)
    with sys.db.transaction() as conn:
        found = figures(conn, first, seen, sys.settings.stuck_after_days, utc_now().date())
    tables = {
        name: [[shown(row.get(key), lang) for key, shown in COLUMNS[name]] for row in found[name]]
        for name in COLUMNS
    }
    network = found["network"]
    return render(
        request,
        "statistics.html",
        me,
        t=t,
        month=found["month"],
        previous=month_back(first, 1).isoformat()[:7],
        following=_following(first),
        scope=seen.library,
        postage=seen.postage,
        columns={name: [f"col_{key}" for key, _ in cols] for name, cols in COLUMNS.items()},
        tables=tables,
        total=(
            [t["network_total"]]
            + [shown(network.get(key), lang) for key, shown in COLUMNS["monthly"][1:]]
            if network
            else None
        ),
        charts=_charts(found, first, t, lang),
        rotation_days=found["rotation_days"],
    )


def _charts(found: dict[str, Any], first: date, t: Words, lang: str) -> dict[str, Chart]:
    rows = found["monthly"]
    months = per_month(found["volume"], first)
    return {
        "fill_rate": bar_chart(
            "fill-rate",
            t["chart_fill_rate"],
            [t["col_fill_rate"]],
            [
                (r["library"], [r["fill_rate"]], [percent(r["fill_rate"], lang)])
                for r in rows
                if r["fill_rate"] is not None
            ],
        ),
        "turnaround": bar_chart(
            "turnaround",
            t["chart_turnaround"],
            [t["col_avg_turnaround_hours"]],
            [
                (
                    r["library"],
                    [r["avg_turnaround_hours"]],
                    [number(r["avg_turnaround_hours"], lang, 1)],
                )
                for r in rows
                if r["avg_turnaround_hours"] is not None
            ],
        ),
        "volume": bar_chart(
            "volume",
            t["chart_volume"],
            [t["col_requested"], t["col_supplied"]],
            [
                (
                    r["library"],
                    [r["requested"], r["supplied"]],
                    [number(r["requested"], lang), number(r["supplied"], lang)],
                )
                for r in rows
            ],
        ),
        "months": bar_chart(
            "months",
            t["chart_months"],
            [t["col_requested"], t["col_filled"]],
            [
                (m, [made, filled], [number(made, lang), number(filled, lang)])
                for m, made, filled in months
            ],
        ),
        "postage": bar_chart(
            "postage",
            t["chart_postage"],
            [t["col_cost"], t["col_subsidy"]],
            [
                (lib, [float(c), float(s)], [number(c, lang), number(s, lang)])
                for lib, c, s in postage_per_library(found["postage"])
            ],
        ),
        "rotations": bar_chart(
            "rotations",
            t["chart_rotations"],
            [t["col_average_copies"]],
            [
                (r["library"], [r["average_copies"]], [number(r["average_copies"], lang, 2)])
                for r in found["rotations"]
            ],
        ),
    }


@router.get("/ui/statistics/{table}.csv")
def statistics_csv(
    table: str,
    request: Request,
    sys: Annotated[System, Depends(system)],
    me: Annotated[Principal | None, Depends(ui_principal)],
    month: Month = "",
) -> Response:
    """One table of the page as CSV: the figures as the API gives them, headed by their
    names in the page's language."""
    if table not in COLUMNS:
        raise HTTPException(404, f"no table {table!r}", headers=HEADERS)
    seen, first = _open(request, me, month, "/ui/statistics")
    lang = language(request)
    if table == "postage" and not seen.postage:
        return redirect("/ui/statistics", lang, error=TEXT[lang]["stats_not_yours"])
    with sys.db.transaction() as conn:
        found = figures(conn, first, seen, sys.settings.stuck_after_days, utc_now().date())
    keys = [key for key, _ in COLUMNS[table]]
    label = TEXT[lang]
    header = [label["col_month"], *(label[f"col_{k}"] for k in keys if k != "month")]
    rows = [
        [found["month"] if table != "volume" else r["month"]]
        + [r.get(k) for k in keys if k != "month"]
        for r in found[table]
    ]
    whose = (seen.library or "network").lower()
    name = f"libshare-{table}-{whose}-{found['month']}.csv"
    return guard(request, csv_download(name, header, rows, {}))
