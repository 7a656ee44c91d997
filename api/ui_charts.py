"""Bar charts drawn on the server as SVG (issue 21, item 6): no script, nothing loaded from
outside, and accessible — each chart has a title and a description that says every
figure, and its page shows the same figures as a table. Bars are horizontal, one row
per label (a library, a month), so that a phone's narrow screen keeps the labels
readable; a chart may have several series (postage and subsidy), each in its colour."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

# Colours with at least 3:1 contrast against white (WCAG 2.1, 1.4.11 non-text contrast).
COLOURS = ("#1a5fb4", "#b25e00", "#26734d")
WIDTH, LABEL, ROW, GAP, TOP = 360, 84, 18, 8, 8  # a phone's width: text at its size
PLOT = WIDTH - LABEL - 64  # room on the right for each bar's figure


@dataclass(frozen=True)
class Bar:
    y: int
    width: float
    colour: str
    shown: str  # the figure as the page writes it


@dataclass(frozen=True)
class Row:
    label: str
    y: int  # where the label's baseline is
    bars: list[Bar]


@dataclass(frozen=True)
class Series:
    name: str
    colour: str


@dataclass(frozen=True)
class Chart:
    key: str  # the element ids' prefix
    title: str
    desc: str
    series: list[Series]
    rows: list[Row]
    width: int
    height: int
    label_x: int
    plot_x: int


def bar_chart(
    key: str,
    title: str,
    names: Sequence[str],
    points: Sequence[tuple[str, Sequence[float | None], Sequence[str]]],
) -> Chart:
    """A chart of `points` (label, one value per series in `names`, each value as shown);
    a missing value (None) draws no bar and is told as shown ("—")."""
    series = [Series(n, COLOURS[i % len(COLOURS)]) for i, n in enumerate(names)]
    top = max((v for _, values, _ in points for v in values if v is not None), default=0.0)
    scale = PLOT / top if top > 0 else 0.0
    rows, y = [], TOP
    for label, values, shown in points:
        bars = []
        for i, (value, text) in enumerate(zip(values, shown, strict=True)):
            width = max(0.0, (value or 0.0) * scale)
            bars.append(Bar(y + i * ROW, round(width, 1), series[i].colour, text))
        rows.append(Row(label, y + ROW - 5, bars))
        y += ROW * len(names) + GAP
    said = "; ".join(
        f"{label}: " + ", ".join(f"{s.name} {t}" for s, t in zip(series, shown, strict=True))
        for label, _, shown in points
    )
    return Chart(key, title, said or "—", series, rows, WIDTH, max(y, 2 * TOP), LABEL - 6, LABEL)
