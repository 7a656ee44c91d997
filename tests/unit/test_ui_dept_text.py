"""The department's and the auditors' pages in words and figures: every UI text their
templates ask for is there in Vietnamese and English (and a missing one fails the page,
not renders as nothing); every event of a copy and of a shipment has its sentence; a
chart's bars and description say the figures; figures are written each language's way;
an event's cause is told in words."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from api.i18n import TEXT
from api.ui_audit_words import COPY_SENTENCES, SHIPMENT_SENTENCES, cause_text, copy_sentence
from api.ui_charts import PLOT, bar_chart
from api.ui_figures import number, percent
from api.ui_render import templates
from api.ui_words import MissingText, Words
from domain.contract import event_types

TEMPLATES = Path(__file__).resolve().parents[2] / "api" / "templates"
PAGES = [
    "base.html",
    "statistics.html",
    "statistics_chart.html",
    *sorted(p.name for p in TEMPLATES.glob("audit_*.html")),
]


def keys_asked(template: str) -> set[str]:
    text = (TEMPLATES / template).read_text(encoding="utf-8")
    return set(re.findall(r"\bt\.([a-z_][a-z0-9_]*)", text)) | set(
        re.findall(r"\bt\[\"([a-z_][a-z0-9_]*)\"\]", text)
    )


@pytest.mark.parametrize("lang", ["vi", "en"])
@pytest.mark.parametrize("template", PAGES)
def test_every_text_a_page_asks_for_is_there(template: str, lang: str) -> None:
    asked = keys_asked(template)
    assert asked, f"{template} asks for no text?"
    assert sorted(asked - set(TEXT[lang])) == []


def test_a_missing_text_fails_the_page_instead_of_showing_nothing() -> None:
    words = Words("en")
    assert templates.env.from_string("{{ t.nav_audit }}").render(t=words) == "Audit"
    for source in ("{{ t.no_such_text }}", '{{ t["no_such_text"] }}'):
        with pytest.raises(MissingText, match="no_such_text"):
            templates.env.from_string(source).render(t=words)


@pytest.mark.parametrize("lang", ["vi", "en"])
@pytest.mark.parametrize(
    ("kind", "sentences"), [("copy", COPY_SENTENCES), ("shipment", SHIPMENT_SENTENCES)]
)
def test_every_copy_and_shipment_event_has_a_sentence(
    kind: str, sentences: dict[str, dict[str, str]], lang: str
) -> None:
    events = {t.event.__name__ for t in event_types() if t.aggregate_name == kind}
    assert events and sorted(events - set(sentences[lang])) == []


def test_a_copys_sentence_says_what_its_event_holds() -> None:
    lent = {"requester": "HNM-S-BH", "request_id": "r1", "status": "on_loan", "holder": "HNM-TVT"}
    assert copy_sentence("LentOnIll", lent, "vi") == "Cho HNM-S-BH mượn liên thư viện"
    withdrawn = {"reason": "hư hỏng", "status": "withdrawn", "holder": "HNM-KB"}
    assert copy_sentence("Withdrawn", withdrawn, "en") == "Withdrawn: hư hỏng"
    assert copy_sentence("SomethingNew", {}, "vi") == "SomethingNew"


def test_a_charts_bars_are_in_proportion_and_its_description_says_every_figure() -> None:
    chart = bar_chart(
        "fill",
        "Fill rate",
        ["made", "filled"],
        [("HNM-KB", [4, 2], ["4", "2"]), ("HNM-DT", [2, None], ["2", "—"])],
    )
    kb, dt = chart.rows
    assert kb.bars[0].width == PLOT  # the largest figure spans the plot
    assert kb.bars[1].width == dt.bars[0].width == PLOT / 2
    assert dt.bars[1].width == 0 and dt.bars[1].shown == "—"
    assert chart.desc == "HNM-KB: made 4, filled 2; HNM-DT: made 2, filled —"
    assert [b.colour for b in kb.bars] == [s.colour for s in chart.series]
    assert len({b.y for r in chart.rows for b in r.bars}) == 4  # no two bars overlap
    empty = bar_chart("none", "Nothing", ["made"], [])
    assert empty.rows == [] and empty.desc == "—"


def test_figures_are_written_each_languages_way() -> None:
    assert number(1234567, "vi") == "1.234.567" and number(1234567, "en") == "1,234,567"
    assert number("40000.00", "vi") == "40.000" and number(2.25, "vi", 1) == "2,2"
    assert number(None, "en") == "—"
    assert percent(2 / 3, "vi") == "66,7 %" and percent(1.0, "en") == "100.0 %"
    assert percent(None, "vi") == "—"


def test_an_events_cause_is_told_in_words() -> None:
    assert cause_text("http:abc123", "vi", {}) == "yêu cầu HTTP abc123"
    assert cause_text("carrier:VNPOST:c-17", "en", {}) == "carrier update from VNPOST (c-17)"
    assert cause_text("command:0123456789abcdef", "en", {}).startswith("command 0123456789ab ")
    assert cause_text("ev-1", "vi", {"ev-1": 3}) == "sự kiện #3 ở trên"
    assert cause_text(None, "en", {}) == "not recorded (an older event)"
    assert cause_text("iso:peer", "en", {}) == "iso:peer"  # a cause not known is shown as it is
