"""What the web UI's forms check before a command is sent, with the messages in the
page's language (the domain checks again and has the last word)."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any
from uuid import UUID

from api.i18n import TEXT, iso_label
from domain.access import Forbidden
from domain.errors import Conflict, DomainError, IllegalTransition

WAYBILL = re.compile(r"^[A-Z0-9-]{6,40}$")


def parcel_form(
    partner: str | None,
    waybill: str | None,
    weight_grams: str | None,
    declared_postage: str | None,
    item_id: str | None,
    lang: str,
) -> dict[str, Any] | str | None:
    """The shipment of a "send by post" fieldset (one parcel holding the item), None when
    the fieldset was left empty, or the message saying what is wrong with it."""
    fields = [partner, waybill, weight_grams, declared_postage]
    if not any(f and f.strip() for f in fields):
        return None
    t = TEXT[lang]
    if not (partner and partner.strip()):
        return t["parcel_needs_partner"]
    code = (waybill or "").strip().upper()
    if not WAYBILL.match(code):
        return t["parcel_bad_waybill"]
    try:
        grams = int((weight_grams or "").strip())
    except ValueError:
        return t["parcel_bad_weight"]
    if not 1 <= grams <= 30_000:
        return t["parcel_bad_weight"]
    try:
        postage = Decimal((declared_postage or "0").strip().replace(".", "").replace(",", ""))
    except InvalidOperation:
        return t["parcel_bad_postage"]
    if postage < 0 or postage > 100_000_000:
        return t["parcel_bad_postage"]
    contents = [item_id.strip()] if item_id and item_id.strip() else []
    return {
        "partner": partner.strip().upper(),
        "waybill": code,
        "parcels": [{"weight_grams": grams, "contents": contents}],
        "declared_postage": str(postage),
    }


def refusal(exc: DomainError, lang: str) -> str:
    """A refused command's message in the page's language: what kind of refusal; for a
    step the state does not allow, which step, which state and what is allowed now, in
    words; for a change made meanwhile or a step not the account's, the kind says it all;
    otherwise the domain's own words follow (they name the rule or the value)."""
    t = TEXT[lang]
    kind = t.get(f"refused_{exc.slug}", t["refused_domain-error"])
    if isinstance(exc, IllegalTransition):
        allowed = ", ".join(_state_word(a, lang) for a in exc.allowed) or "—"
        return t["refused_transition"].format(
            command=_state_word(exc.command, lang),
            state=_state_word(exc.state, lang),
            allowed=allowed,
        )
    if isinstance(exc, Conflict | Forbidden):
        return kind
    return f"{kind}: {exc.detail}"


def _state_word(name: str, lang: str) -> str:
    """A request's ISO status or action, a transfer's or rotation's status, in words."""
    t = TEXT[lang]
    for key in (f"transfer_status_{name}", f"rotation_status_{name}"):
        if key in t:
            return t[key]
    return iso_label(name, lang)


def barcodes(text: str) -> list[str]:
    """The barcodes of a scanned list: one per line (or separated by spaces or commas), in
    capitals, each once, in the order scanned."""
    seen: dict[str, None] = {}
    for word in re.split(r"[\s,;]+", text.upper()):
        if word:
            seen.setdefault(word, None)
    return list(seen)


def damaged_lines(text: str) -> list[dict[str, str]]:
    """Damaged copies, one per line: the barcode, then what is wrong with it."""
    out = []
    for row in text.splitlines():
        code, _, note = row.strip().partition(" ")
        if code:
            out.append({"copy": code.strip(",:;").upper(), "note": note.strip(" :-") or "?"})
    return out


def parcel_mates(
    action: str, ids: list[str], items: list[str], ticked: list[str]
) -> list[tuple[UUID, str]] | str:
    """The other requests a librarian put in the same parcel: for a loan, those whose
    item barcode was typed (the ids and barcodes come in pairs, every pair sent); for a
    return, those ticked. A text key when the form does not add up."""
    try:
        if action == "Loaned":
            if len(ids) != len(items):
                return "form_expired"
            return [
                (UUID(r), i.strip().upper()) for r, i in zip(ids, items, strict=True) if i.strip()
            ]
        if action == "ShippedReturn":
            return [(UUID(r), "") for r in dict.fromkeys(ticked)]
    except ValueError:
        return "form_expired"
    return []
