"""A figure of `make bench` beside its raw baseline, and the table they are printed in."""

from __future__ import annotations

import statistics
from collections.abc import Callable
from typing import Any


def figure(
    name: str,
    value: float,
    baseline: float | None,
    aim: str | None,
    ok: bool | None,
    unit: str,
    rounds: list[float] | None = None,
    baseline_rounds: list[float] | None = None,
) -> dict[str, Any]:
    """`rounds`, `baseline_rounds`: each round's figures (ours and raw took turns), whose
    median `value` and `baseline` are; their min and max are kept and printed."""
    ratio = value / baseline if baseline else None
    spread = {}
    if rounds:
        spread["min"], spread["max"] = round(min(rounds), 1), round(max(rounds), 1)
    if rounds and baseline_rounds:
        ratios = [v / b for v, b in zip(rounds, baseline_rounds, strict=True) if b]
        spread["ratio_min"], spread["ratio_max"] = round(min(ratios), 3), round(max(ratios), 3)
    return {
        **({"rounds": rounds, "baseline_rounds": baseline_rounds, **spread} if rounds else {}),
        "name": name,
        "value": round(value, 1),
        "unit": unit,
        "baseline": round(baseline, 1) if baseline else None,
        "ratio": round(ratio, 3) if ratio else None,
        "aim": aim,
        "met": ok,
    }


def print_table(figures: list[dict[str, Any]]) -> None:
    print(f"{'figure':<66} {'value':>10} {'baseline':>10} {'ratio':>7}  aim")
    for f in figures:
        mark = "" if f["met"] is None else ("met" if f["met"] else "MISSED")
        digits = 1 if f["unit"] == "ms" else 0
        base = f"{f['baseline']:,.{digits}f}" if f["baseline"] else "-"
        ratio = f"{f['ratio']:.2f}" if f["ratio"] else "-"
        print(
            f"{f['name']:<66} {f['value']:>10,.1f} {base:>10} {ratio:>7}  {f['aim'] or ''} {mark}"
        )
        if "min" in f:
            ratios = f" ratio {f['ratio_min']:.2f}-{f['ratio_max']:.2f}" if "ratio_min" in f else ""
            print(f"{'':<4}rounds: min {f['min']:,.1f} max {f['max']:,.1f}{ratios}")


def median_figure(
    name: str,
    rounds: list[float],
    baseline_rounds: list[float],
    aim: str,
    met: Callable[[float, float], bool],
    unit: str,
) -> dict[str, Any]:
    """A figure of rounds in which ours and the baseline took turns: each the median of
    its rounds; `met(ours, baseline)` says whether the aim is met."""
    value, baseline = statistics.median(rounds), statistics.median(baseline_rounds)
    return figure(name, value, baseline, aim, met(value, baseline), unit, rounds, baseline_rounds)
