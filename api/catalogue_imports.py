"""A library administrator uploads the library's MARC21 catalogue (ISO 2709 or MARCXML,
UTF-8 or MARC-8) and gets the import's report; or reverses the merge of one of its
records into another library's work (ADR 0025)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Path
from pydantic import BaseModel

from api.auth import Authorize
from api.deps import system
from api.fields import line
from composition.bootstrap import System
from domain.access import Permission, Principal
from domain.errors import InvalidInput
from services.commands import ImportCatalogue, SeparateRecord

router = APIRouter(prefix="/libraries", tags=["union catalogue"])
Importer = Annotated[Principal, Depends(Authorize(Permission.CATALOGUE_IMPORT))]
MAX_BYTES = 200 * 1024 * 1024
MARC_TYPES = "application/marc (ISO 2709) or application/marcxml+xml"


class Merge(BaseModel):
    work: str
    rule: str
    record: str


class Rejection(BaseModel):
    position: int
    record: str | None
    reason: str


class ImportReportOut(BaseModel):
    library: str
    read: int
    created: int
    merged: list[Merge]
    updated: int
    unchanged: int
    rejected: list[Rejection]


class SeparateIn(BaseModel):
    reason: str = line(max_length=500, examples=["a different edition"])


@router.post(
    "/{code}/catalogue-imports",
    summary="Import the library's MARC21 catalogue; answers with the import's report",
    description="The body is the file as the library's system exported it, ISO 2709 or "
    "MARCXML (sent as application/octet-stream, application/marc or application/marcxml+xml; "
    "the format is told by the bytes). "
    "A record already imported unchanged changes nothing; bad records are reported with "
    "their reason and skipped.",
)
def import_catalogue(
    code: Annotated[str, Path(max_length=40)],
    data: Annotated[bytes, Body(media_type="application/octet-stream")],
    sys: Annotated[System, Depends(system)],
    me: Importer,
) -> ImportReportOut:
    if not data.strip():
        raise InvalidInput(f"the file is empty: send {MARC_TYPES}")
    if len(data) > MAX_BYTES:
        raise InvalidInput(f"the file is larger than {MAX_BYTES // (1024 * 1024)} MB")
    report = sys.entry.act(me, ImportCatalogue(code, data))
    return ImportReportOut.model_validate(report.as_dict())


@router.post(
    "/{code}/catalogue-records/{local_id}/separate",
    summary="Reverse the merge of one of the library's records into another work",
)
def separate(
    code: Annotated[str, Path(max_length=40)],
    local_id: Annotated[str, Path(max_length=100)],
    body: SeparateIn,
    sys: Annotated[System, Depends(system)],
    me: Importer,
) -> dict[str, Any]:
    return sys.entry.act(me, SeparateRecord(code, local_id, body.reason))
