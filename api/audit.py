"""The auditors' API (ADR 0026): read-only. The log's key and its witnesses, signed
checkpoints, inclusion and consistency proofs that tools/verify_libshare.py checks
offline, and exports: the whole log or a request's timeline as JSON Lines or CSV, and
a signed bundle of the log."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse

from api.auth import Authorize
from api.deps import system
from composition.bootstrap import System
from domain.access import Permission, Principal
from domain.errors import InvalidInput, NotFound
from infra.audit_export import (
    LOG_COLUMNS,
    TIMELINE_COLUMNS,
    as_csv,
    as_jsonl,
    bundle,
    log_entries,
    timeline_entries,
)
from infra.audit_proofs import ProofUnavailable, checkpoint_note, consistency, inclusion, witnesses
from projections.requests import detail

router = APIRouter(prefix="/audit", tags=["audit"])
Auditor = Annotated[Principal, Depends(Authorize(Permission.AUDIT_READ))]


@router.get("/key", summary="The log's verifier key, and the witnesses that cosign it")
def key(sys: Annotated[System, Depends(system)], _: Auditor) -> dict[str, Any]:
    with sys.db.transaction() as conn:
        found = witnesses(conn)
    return {"origin": sys.settings.audit_origin, "log_key": sys.signer().vkey, "witnesses": found}


@router.get("/checkpoint", summary="A signed checkpoint (the latest by default), cosigned")
def checkpoint(
    sys: Annotated[System, Depends(system)],
    _: Auditor,
    size: Annotated[int | None, Query(ge=1, description="The tree size; latest if none")] = None,
) -> dict[str, Any]:
    with sys.db.transaction() as conn:
        found = checkpoint_note(conn, size)
    if found is None:
        raise NotFound(f"no checkpoint of size {size}" if size else "no checkpoint yet")
    return {"size": found[0], "note": found[1]}


@router.get("/proofs/inclusion", summary="An event's inclusion proof against a checkpoint")
def inclusion_proof(
    sys: Annotated[System, Depends(system)],
    _: Auditor,
    aggregate_id: UUID,
    version: Annotated[int, Query(ge=1)],
    size: Annotated[int | None, Query(ge=1, description="The checkpoint; latest if none")] = None,
) -> dict[str, Any]:
    try:
        with sys.db.transaction() as conn:
            return inclusion(conn, aggregate_id, version, size)
    except ProofUnavailable as exc:
        raise NotFound(str(exc)) from None


@router.get("/proofs/consistency", summary="A consistency proof between two checkpoints")
def consistency_proof(
    sys: Annotated[System, Depends(system)],
    _: Auditor,
    first: Annotated[int, Query(ge=1)],
    second: Annotated[int, Query(ge=1)],
) -> dict[str, Any]:
    if first > second:
        raise InvalidInput("the first checkpoint must not be larger than the second")
    try:
        with sys.db.transaction() as conn:
            return consistency(conn, first, second)
    except ProofUnavailable as exc:
        raise NotFound(str(exc)) from None


class JsonLines(StreamingResponse):
    media_type = "application/x-ndjson"


class CsvStream(StreamingResponse):
    media_type = "text/csv"


def _attachment(name: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="{name}"'}


def _log_lines(sys: System, csv: bool) -> Iterator[str]:
    with sys.db.transaction() as conn:
        entries = log_entries(conn)
        yield from as_csv(entries, LOG_COLUMNS) if csv else as_jsonl(entries)


@router.get("/export/log.jsonl", response_class=JsonLines, summary="The whole log as JSON Lines")
def export_log_jsonl(sys: Annotated[System, Depends(system)], _: Auditor) -> JsonLines:
    return JsonLines(_log_lines(sys, False), headers=_attachment("libshare-log.jsonl"))


@router.get("/export/log.csv", response_class=CsvStream, summary="The whole log as CSV")
def export_log_csv(sys: Annotated[System, Depends(system)], _: Auditor) -> CsvStream:
    return CsvStream(_log_lines(sys, True), headers=_attachment("libshare-log.csv"))


@router.get("/export/bundle", summary="A signed bundle: events, checkpoints, public keys")
def export_bundle(sys: Annotated[System, Depends(system)], _: Auditor) -> dict[str, Any]:
    with sys.db.transaction() as conn:
        return bundle(conn, sys.signer().vkey)


def _timeline(sys: System, request_id: UUID) -> list[dict[str, Any]]:
    with sys.db.transaction() as conn:
        found = detail(conn, request_id)
    if found is None:
        raise NotFound(f"request {request_id} is not among the requests you may see")
    return list(timeline_entries(found["timeline"]))


@router.get(
    "/export/requests/{request_id}.jsonl",
    response_class=JsonLines,
    summary="A request's timeline as JSON Lines: who did what, when, and why",
)
def export_request_jsonl(
    request_id: UUID, sys: Annotated[System, Depends(system)], _: Auditor
) -> JsonLines:
    lines = as_jsonl(_timeline(sys, request_id))
    return JsonLines(lines, headers=_attachment(f"request-{request_id}.jsonl"))


@router.get(
    "/export/requests/{request_id}.csv",
    response_class=CsvStream,
    summary="A request's timeline as CSV",
)
def export_request_csv(
    request_id: UUID, sys: Annotated[System, Depends(system)], _: Auditor
) -> CsvStream:
    lines = as_csv(_timeline(sys, request_id), TIMELINE_COLUMNS)
    return CsvStream(lines, headers=_attachment(f"request-{request_id}.csv"))
