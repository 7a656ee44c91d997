"""SRU 2.0 searchRetrieve over the union catalogue's records (ADR 0025): CQL on title,
author, ISBN and any field (domain/cql.py), without regard to tones; records as MARCXML
(`marcxml`, info:srw/schema/1/marcxml-v1.1) or Dublin Core (`dc`). Open to everyone, as
outside systems are no accounts; records of visibility-scoped works are never served.
Errors are SRU diagnostics (HTTP 200 with <diagnostics>), as the protocol wants."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from lxml import etree
from starlette.concurrency import run_in_threadpool

from api.deps import system
from api.dublin_core import dublin_core, marc_element
from composition.bootstrap import System
from domain.cql import CqlError, parse
from projections.catalogue_protocols import sru_search

router = APIRouter(tags=["protocols"])
SRU = "http://docs.oasis-open.org/ns/search-ws/sruResponse"
DIAG = "http://docs.oasis-open.org/ns/search-ws/diagnostic"
SCHEMAS = {
    "marcxml": "info:srw/schema/1/marcxml-v1.1",
    "info:srw/schema/1/marcxml-v1.1": "info:srw/schema/1/marcxml-v1.1",
    "dc": "info:srw/schema/1/dc-v1.1",
    "info:srw/schema/1/dc-v1.1": "info:srw/schema/1/dc-v1.1",
}
MAX_RECORDS = 100


class Diagnostic(Exception):
    def __init__(self, number: int, message: str, details: str = "") -> None:
        super().__init__(message)
        self.number, self.message, self.details = number, message, details


def _int(args: dict[str, str], name: str, default: int, low: int, high: int) -> int:
    value = args.get(name)
    if value is None:
        return default
    if not value.isdigit() or not low <= int(value) <= high:
        raise Diagnostic(6, f"{name} must be a number from {low} to {high}", name)
    return int(value)


def _answer(sys: System, args: dict[str, str]) -> etree._Element:
    root = etree.Element(f"{{{SRU}}}searchRetrieveResponse", nsmap={None: SRU, "diag": DIAG})
    try:
        if args.get("operation", "searchRetrieve") != "searchRetrieve":
            raise Diagnostic(4, "only searchRetrieve is supported", args["operation"])
        if "query" not in args:
            raise Diagnostic(7, "mandatory parameter not supplied", "query")
        schema_name = args.get("recordSchema", "marcxml")
        schema = SCHEMAS.get(schema_name)
        if schema is None:
            raise Diagnostic(66, "unknown schema for retrieval: marcxml or dc", schema_name)
        if args.get("recordXMLEscaping", "xml") != "xml":
            raise Diagnostic(71, "only XML records are supported", "recordXMLEscaping")
        start = _int(args, "startRecord", 1, 1, 1_000_000)
        maximum = _int(args, "maximumRecords", 10, 0, MAX_RECORDS)
        try:
            query = parse(args["query"])
        except CqlError as exc:
            raise Diagnostic(exc.diagnostic, exc.detail, args["query"]) from None
        with sys.db.transaction() as conn:
            total, hits = sru_search(conn, query, start, maximum)
        etree.SubElement(root, f"{{{SRU}}}numberOfRecords").text = str(total)
        if hits:
            records = etree.SubElement(root, f"{{{SRU}}}records")
            for n, hit in enumerate(hits, start=start):
                _record(records, hit, schema, n)
        if start + len(hits) <= total and hits:
            etree.SubElement(root, f"{{{SRU}}}nextRecordPosition").text = str(start + len(hits))
    except Diagnostic as exc:
        for child in list(root):
            root.remove(child)
        etree.SubElement(root, f"{{{SRU}}}numberOfRecords").text = "0"
        diagnostics = etree.SubElement(root, f"{{{SRU}}}diagnostics")
        diagnostic = etree.SubElement(diagnostics, f"{{{DIAG}}}diagnostic")
        uri = f"info:srw/diagnostic/1/{exc.number}"
        etree.SubElement(diagnostic, f"{{{DIAG}}}uri").text = uri
        if exc.details:
            etree.SubElement(diagnostic, f"{{{DIAG}}}details").text = exc.details
        etree.SubElement(diagnostic, f"{{{DIAG}}}message").text = exc.message
    return root


def _record(parent: etree._Element, hit: dict[str, Any], schema: str, position: int) -> None:
    record = etree.SubElement(parent, f"{{{SRU}}}record")
    etree.SubElement(record, f"{{{SRU}}}recordSchema").text = schema
    etree.SubElement(record, f"{{{SRU}}}recordXMLEscaping").text = "xml"
    data = etree.SubElement(record, f"{{{SRU}}}recordData")
    data.append(
        marc_element(hit) if schema.endswith("marcxml-v1.1") else dublin_core(hit, sru=True)
    )
    etree.SubElement(record, f"{{{SRU}}}recordPosition").text = str(position)


@router.get(
    "/sru",
    summary="SRU 2.0 searchRetrieve: CQL on title, author, isbn, any; MARCXML or Dublin Core",
    response_class=Response,
    responses={200: {"content": {"application/sru+xml": {}}}},
)
async def sru(request: Request, sys: Annotated[System, Depends(system)]) -> Response:
    args = dict(request.query_params)
    root = await run_in_threadpool(_answer, sys, args)
    body = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    return Response(body, media_type="application/sru+xml; charset=utf-8")
