"""A figure of `make bench` beside its raw baseline, and the table they are printed in."""

from __future__ import annotations

from typing import Any


def figure(
    name: str, value: float, baseline: float | None, aim: str | None, ok: bool | None, unit: str
) -> dict[str, Any]:
    ratio = value / baseline if baseline else None
    return {
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
