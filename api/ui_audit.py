"""The auditors' pages in the web UI (issue 21, item 6), read-only and the auditor's alone
(`audit.read`): a request's or a copy's full story from its events — what, when, who, and
why (the action each event belongs to, the message that caused it, what else that
action did) — also as it stood at a chosen instant. The network as of an instant and the
verifiable log's status are api/ui_audit_log.py's."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from api.auth import ui_principal
from api.deps import system
from api.i18n import TEXT
from api.ui_audit_words import aggregate_name, cause_text, copy_sentence, shipment_sentence
from api.ui_figures import csv_download
from api.ui_gate import leave, signed_in
from api.ui_guard import guard, language
from api.ui_render import redirect, render
from api.ui_timeline import sentence, who
from api.ui_words import Words
from composition.bootstrap import System
from domain.access import Permission, Principal, may
from domain.copy import Copy, barcode_of
from infra.aggregate_as_of import state_at, version_at
from infra.aggregate_history import history
from infra.clock import utc_now
from infra.correlated_events import copy_barcodes, correlated
from projections.requests import detail

router = APIRouter(include_in_schema=False)
Instant = Annotated[str, Query()]  # checked by `instant_of`: a bad one gets its message
BARCODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{2,59}$")


def auditor(request: Request, me: Principal | None) -> Principal:
    """`me` if they may read the audit pages; else off to sign in, or told why not."""
    me = signed_in(request, me)
    if may(me, Permission.AUDIT_READ) is None:
        raise leave(request, "/", "audit_not_yours")
    return me


def instant_of(text: str) -> datetime | str | None:
    """An instant given on a form (ISO 8601; without an offset: UTC), None if none was
    given, or the key of the error to show (not a time, or in the future)."""
    if not text.strip():
        return None
    if len(text) > 40:
        return "audit_bad_instant"
    try:
        found = datetime.fromisoformat(text.strip())
    except ValueError:
        return "audit_bad_instant"
    found = found if found.tzinfo else found.replace(tzinfo=UTC)
    return "audit_future_instant" if found > utc_now() else found


@router.get("/ui/audit")
def audit_home(
    request: Request, me: Annotated[Principal | None, Depends(ui_principal)]
) -> Response:
    allowed = auditor(request, me)
    return render(request, "audit_home.html", allowed, t=Words(language(request)))


@router.get("/ui/audit/find")
def find(
    request: Request,
    me: Annotated[Principal | None, Depends(ui_principal)],
    ref: Annotated[str, Query()] = "",
) -> Response:
    """A request's id or a copy's barcode, typed on the audit page: its story."""
    auditor(request, me)
    lang, ref = language(request), ref.strip()
    try:
        return redirect(f"/ui/audit/requests/{UUID(ref)}", lang)
    except ValueError:
        pass
    if BARCODE.fullmatch(ref):
        return redirect(f"/ui/audit/copies/{barcode_of(ref)}", lang)
    return redirect("/ui/audit", lang, error=TEXT[lang]["audit_bad_ref"])


def story(
    entries: list[dict[str, Any]], lang: str, said: Callable[[str, dict[str, Any]], str]
) -> list[dict[str, Any]]:
    """Each event a row: its number, when, what in words, who, the action it belongs to
    (one number per correlation id, in the order they first appear), and its cause."""
    numbers = {
        e["cause"]["event_id"]: n
        for n, e in enumerate(entries, 1)
        if e.get("cause") and e["cause"].get("event_id")
    }
    actions: dict[str, int] = {}
    rows = []
    for n, e in enumerate(entries, 1):
        cause = e.get("cause") or {}
        correlation = cause.get("correlation_id")
        rows.append(
            {
                "n": n,
                "version": e["version"],
                "at": e["at"],
                "event": e["event"],
                "what": said(e["event"], e["data"]),
                "who": who(e["actor"], lang),
                "action": actions.setdefault(correlation, len(actions) + 1)
                if correlation
                else None,
                "correlation": correlation,
                "why": cause_text(cause.get("causation_id"), lang, numbers),
                "event_id": cause.get("event_id"),
                "trace": cause.get("trace_id"),
            }
        )
    return rows


def _also(
    sys: System, rows: list[dict[str, Any]], aggregate_id: UUID, lang: str
) -> list[dict[str, Any]]:
    """What else each action of the story did, to other aggregates (with a link to the
    story of a request or a copy)."""
    action_of = {r["correlation"]: r["action"] for r in rows if r["correlation"]}
    with sys.db.transaction() as conn:
        found = correlated(conn, sys.reader.mapper, set(action_of), aggregate_id)
        copies = {e["aggregate_id"] for e in found if e["aggregate_type"] == "copy"}
        barcodes = copy_barcodes(conn, sys.reader.mapper, copies)
    also = []
    for e in found:
        kind, ident = e["aggregate_type"], e["aggregate_id"]
        link = None
        if kind == "ill-request":
            link = f"/ui/audit/requests/{ident}"
        elif kind == "copy" and ident in barcodes:
            link = f"/ui/audit/copies/{barcodes[ident]}"
        said = {"copy": copy_sentence, "shipment": shipment_sentence}.get(kind, sentence)
        also.append(
            {
                "action": action_of[e["correlation_id"]],
                "kind": aggregate_name(kind, lang),
                "name": barcodes.get(ident) or str(ident)[:8],
                "link": link,
                "what": said(e["event"], e["data"], lang),
                "at": e["at"],
            }
        )
    return also


def _show_story(
    request: Request,
    sys: System,
    me: Principal,
    aggregate_id: UUID,
    entries: list[dict[str, Any]],
    heading: str,
    said: Callable[[str, dict[str, Any]], str],
    as_of: str,
    path: str,
    download: str | None,
) -> Response:
    """The story as a page, or (`download`: the file's name) as CSV."""
    lang = language(request)
    instant = instant_of(as_of)
    if isinstance(instant, str):
        return redirect(path, lang, error=TEXT[lang][instant])
    state, later = None, 0
    if instant is not None:
        with sys.db.transaction() as conn:
            version = version_at(conn, aggregate_id, instant)
        state = state_at(sys.app, aggregate_id, version) if version else None
        kept = [e for e in entries if version and e["version"] <= version]
        later, entries = len(entries) - len(kept), kept
    rows = story(entries, lang, said)
    if download:
        return guard(request, _story_csv(rows, lang, download))
    return render(
        request,
        "audit_story.html",
        me,
        t=Words(lang),
        heading=heading,
        path=path,
        rows=rows,
        also=_also(sys, rows, aggregate_id, lang),
        as_of=instant,
        as_of_text=as_of.strip(),
        state=state,
        later=later,
    )


STORY_COLUMNS = ("n", "at", "event", "version", "what", "who", "action", "correlation",
                 "why", "event_id", "trace")  # fmt: skip


def _story_csv(rows: list[dict[str, Any]], lang: str, name: str) -> Response:
    """The story's rows as the page shows them, to save: the words in the page's
    language, the time in ISO 8601 (UTC), the ids as recorded."""
    text = TEXT[lang]
    header = ["#", f"{text['when']} (UTC)", "event", "version", text["what"], text["who"],
              text["audit_action"], "correlation_id", text["audit_why"], "event_id",
              "trace_id"]  # fmt: skip
    lines = [[r["at"].isoformat() if k == "at" else r[k] for k in STORY_COLUMNS] for r in rows]
    return csv_download(name, header, lines, {})


@router.get("/ui/audit/requests/{request_id}")
def request_story(
    request_id: UUID,
    request: Request,
    sys: Annotated[System, Depends(system)],
    me: Annotated[Principal | None, Depends(ui_principal)],
    as_of: Instant = "",
    format: Annotated[str, Query(description="csv: the story as a file to save")] = "",
) -> Response:
    allowed = auditor(request, me)
    lang = language(request)
    with sys.db.transaction() as conn:
        found = detail(conn, request_id)
    if found is None:
        return redirect("/ui/audit", lang, error=f"{request_id}: {TEXT[lang]['audit_not_found']}")
    heading = f"{found.get('title') or found['work']} · {found['requester']} · {request_id}"
    return _show_story(
        request,
        sys,
        allowed,
        request_id,
        found["timeline"],
        heading,
        lambda event, data: sentence(event, data, lang),
        as_of,
        f"/ui/audit/requests/{request_id}",
        f"libshare-story-request-{request_id}.csv" if format == "csv" else None,
    )


@router.get("/ui/audit/copies/{barcode}")
def copy_story(
    barcode: str,
    request: Request,
    sys: Annotated[System, Depends(system)],
    me: Annotated[Principal | None, Depends(ui_principal)],
    as_of: Instant = "",
    format: Annotated[str, Query(description="csv: the story as a file to save")] = "",
) -> Response:
    allowed = auditor(request, me)
    lang = language(request)
    code = barcode_of(barcode) if BARCODE.fullmatch(barcode) else ""
    copy_id = Copy.id_for(code)
    with sys.db.transaction() as conn:
        entries = history(conn, sys.reader.mapper, copy_id) if code else []
    if not entries:
        return redirect("/ui/audit", lang, error=f"{barcode[:60]}: {TEXT[lang]['audit_not_found']}")
    return _show_story(
        request,
        sys,
        allowed,
        copy_id,
        entries,
        f"{TEXT[lang]['audit_copy']} {code}",
        lambda event, data: copy_sentence(event, data, lang),
        as_of,
        f"/ui/audit/copies/{code}",
        f"libshare-story-copy-{code}.csv" if format == "csv" else None,
    )
