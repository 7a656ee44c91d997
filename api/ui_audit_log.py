"""The auditors' pages in the web UI, continued (issue 21, item 6): the network as it
stood at an instant — a library's queues and a month's statistics from the read models
replayed up to it (projections/as_of.py, as `GET /audit/as-of/...` serves them) — and the
verifiable log's status (ADR 0026): its latest signed checkpoint (size, root, the log's
signature checked), each witness's cosignature checked, how many events are logged,
and, when the auditor asks, `audit verify`'s full check of every event."""

from __future__ import annotations

import base64
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from api.auth import ui_principal
from api.deps import system
from api.i18n import TEXT
from api.ui_audit import auditor, instant_of
from api.ui_guard import language
from api.ui_render import redirect, render
from api.ui_words import Words
from composition.bootstrap import PROJECTIONS, System, projection_named
from domain.access import Principal
from infra.audit_proofs import checkpoint_note, witnesses
from infra.audit_verify import verify_postgres
from infra.clock import utc_now
from infra.signed_note import NoteError, check_cosignature, open_note
from projections.as_of import build, reading
from projections.libraries import list_libraries
from projections.requests import queue
from projections.statistics import monthly

router = APIRouter(include_in_schema=False)


@router.get("/ui/audit/as-of")
def network_as_of(
    request: Request,
    sys: Annotated[System, Depends(system)],
    me: Annotated[Principal | None, Depends(ui_principal)],
    as_of: Annotated[str, Query()] = "",
    library: Annotated[str, Query()] = "",
) -> Response:
    allowed = auditor(request, me)
    lang = language(request)
    instant = instant_of(as_of)
    if isinstance(instant, str):
        return redirect("/ui/audit/as-of", lang, error=TEXT[lang][instant])
    with sys.db.transaction() as conn:
        libraries = list_libraries(conn)
    codes = [lib["code"] for lib in libraries]
    code = library.strip().upper()
    if code not in codes:  # none chosen yet, or one the network does not have
        code = codes[0] if codes else ""
    queues: list[tuple[str, list[dict[str, Any]], str]] = []
    stats: dict[str, Any] | None = None
    if instant is not None:
        schema = build(
            sys.db, sys.app.mapper, projection_named, list(PROJECTIONS), instant, utc_now()
        )
        first = instant.date().replace(day=1)
        with reading(sys.db, schema) as conn:
            for role, other in (("requester", "supplier"), ("supplier", "requester")):
                queues.append((role, queue(conn, code, role, None, 100, 0), other))
            stats = monthly(
                conn, first, stuck_after_days=sys.settings.stuck_after_days, now=instant
            )
    return render(
        request,
        "audit_as_of.html",
        allowed,
        t=Words(lang),
        as_of=instant,
        as_of_text=as_of.strip(),
        libraries=libraries,
        chosen=code,
        queues=queues,
        stats=stats,
    )


def log_status(sys: System) -> dict[str, Any]:
    """The latest checkpoint, checked: its signature under this deployment's key, and
    each witness's cosignature of it under the key the witness announced."""
    vkey = sys.signer().vkey
    with sys.db.transaction() as conn:
        latest = checkpoint_note(conn, None)
        row = conn.execute(
            "SELECT (SELECT count(*) FROM libshare_events), "
            "(SELECT count(*) FROM audit_leaves), (SELECT count(*) FROM audit_checkpoints), "
            "(SELECT max(signed_at) FROM audit_checkpoints)"
        ).fetchone()
        known = witnesses(conn)
        lines = (
            conn.execute(
                "SELECT witness, vkey, line, received_at FROM audit_cosignatures WHERE size = %s "
                "ORDER BY witness",
                (latest[0],),
            ).fetchall()
            if latest
            else []
        )
    found: dict[str, Any] = {
        "vkey": vkey,
        "events": row[0] if row else 0,
        "logged": row[1] if row else 0,
        "checkpoints": row[2] if row else 0,
        "signed_at": row[3] if row else None,
        "witnesses": known,
        "latest": None,
    }
    if latest is None:
        return found
    size, note = latest
    try:
        checkpoint = open_note(note, vkey)
        signature_ok, problem = True, None
    except NoteError as exc:
        signature_ok, problem, checkpoint = False, str(exc), None
    cosigned = []
    for witness, wkey, line, received_at in lines:
        try:
            when = check_cosignature(checkpoint, line, wkey) if checkpoint else None
            cosigned.append(
                {"witness": witness, "ok": when is not None, "time": when, "at": received_at}
            )
        except NoteError as exc:
            cosigned.append(
                {"witness": witness, "ok": False, "problem": str(exc), "at": received_at}
            )
    found["latest"] = {
        "size": size,
        "root": base64.b64encode(checkpoint.root).decode() if checkpoint else None,
        "note": note,
        "signature_ok": signature_ok,
        "problem": problem,
        "cosigned": cosigned,
    }
    return found


@router.get("/ui/audit/log")
def audit_log(
    request: Request,
    sys: Annotated[System, Depends(system)],
    me: Annotated[Principal | None, Depends(ui_principal)],
    verify: Annotated[bool, Query()] = False,
) -> Response:
    allowed = auditor(request, me)
    report = None
    if verify:  # the whole history read and hashed again: on request, not on every visit
        with sys.db.transaction() as events, sys.db.transaction() as leaves:
            report = verify_postgres(events, leaves, sys.signer().vkey)
    return render(
        request,
        "audit_log.html",
        allowed,
        t=Words(language(request)),
        status=log_status(sys),
        report=report,
    )
