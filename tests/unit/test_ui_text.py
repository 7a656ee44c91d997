"""Every text a page of the web UI asks for exists in Vietnamese and in English: the keys
the templates name outright, and each family of keys a template builds from a value
(a carrier status, a transfer's reason, state, step or event, a rotation's status, a
card's status, an identity document...) for every value the domain can give it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from api.i18n import TEXT
from api.ui_digital import READER_TYPES
from api.ui_transfers import STEPS
from domain.catalogue import ItemKind
from domain.contract import event_types
from domain.reader import IDENTITY_METHODS, CardStatus
from domain.rotation import RotationStatus
from domain.shipment import CarrierStatus
from domain.transfer import Reason, Transfer, TransferStatus
from projections.dashboard import OTHER_TILES, REQUEST_TILES

TEMPLATES = Path(__file__).resolve().parents[2] / "api" / "templates"
NAMED = re.compile(r"\bt\.([A-Za-z_][A-Za-z0-9_]*)|\bt\[\"([^\"~]+)\"\]")
BUILT = re.compile(r"\bt\[\"([a-z_]+)\" ~")

LINE_STATES = (
    "listed", "picked", "dropped", "sent", "received", "damaged", "extra", "missing",
    "elsewhere", "found",
)  # fmt: skip
TRANSFER_EVENTS = [t.event.__name__ for t in event_types() if t.aggregate is Transfer]
FAMILIES: dict[str, list[str]] = {
    "carrier_": ["created", *(s.value for s in CarrierStatus)],
    "purpose_": ["loan", "return", "transfer"],
    "reason_": [r.value for r in Reason],
    "transfer_status_": [s.value for s in TransferStatus],
    "line_": list(LINE_STATES),
    "step_": sorted({s for steps in STEPS.values() for s in steps}),
    "transfer_ev_": TRANSFER_EVENTS,
    "direction_": ["incoming", "outgoing"],
    "rotation_status_": [s.value for s in RotationStatus],
    "rotation_step_": ["advance", "recall", "extend"],
    "card_": [s.value for s in CardStatus],
    "desk_method_": sorted(IDENTITY_METHODS),
    "reader_type_": READER_TYPES,
    "digital_step_": ["link", "renew", "return", "cancel"],
    "unfilled_": ["NotOnShelf", "OnLoan", "NotHeld", "NonCirculating", "Damaged", "PolicyProblem",
                  "Other"],
    "condition_": ["LibraryUseOnly", "NoReproduction", "Cost", "LaterDate"],
    "kind_": [k.value for k in ItemKind],
    "tile_": [*REQUEST_TILES, *OTHER_TILES],
}  # fmt: skip


def template_keys() -> tuple[set[str], set[str]]:
    named: set[str] = set()
    built: set[str] = set()
    for path in TEMPLATES.glob("*.html"):
        text = path.read_text(encoding="utf-8")
        named |= {a or b for a, b in NAMED.findall(text)}
        built |= set(BUILT.findall(text))
    return named, built


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_every_key_a_template_names_has_its_text(lang: str) -> None:
    named, _ = template_keys()
    assert len(named) > 100
    assert sorted(named - set(TEXT[lang])) == []


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_every_key_a_template_builds_has_its_text_for_every_value(lang: str) -> None:
    _, built = template_keys()
    assert sorted(built - set(FAMILIES)) == [], "a family of keys this test does not know"
    missing = [
        f"{prefix}{value}"
        for prefix, values in FAMILIES.items()
        for value in values
        if f"{prefix}{value}" not in TEXT[lang]
    ]
    assert TRANSFER_EVENTS and missing == []
