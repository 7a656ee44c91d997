"""OAI-PMH 2.0 over the union catalogue's records (ADR 0025): every library's records as
imported, in `oai_dc` and `marcxml`, one set per library, resumption tokens of 100
records, deletions kept (persistent). Open to everyone, as harvesters are no accounts;
records of visibility-scoped works are never served. Errors are OAI-PMH errors (HTTP 200
with an <error> element), as the protocol wants."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from lxml import etree
from starlette.concurrency import run_in_threadpool

from api.deps import system
from api.dublin_core import MARC, MARC_SCHEMA, OAI_DC, OAI_DC_SCHEMA, XSI, dublin_core, marc_element
from composition.bootstrap import System
from projections.catalogue_protocols import (
    earliest_datestamp,
    one_record,
    record_sets,
    records_since,
)

router = APIRouter(tags=["protocols"])
OAI = "http://www.openarchives.org/OAI/2.0/"
OAI_SCHEMA = "http://www.openarchives.org/OAI/2.0/OAI-PMH.xsd"
PAGE = 100
FORMATS = {"oai_dc": (OAI_DC_SCHEMA, OAI_DC), "marcxml": (MARC_SCHEMA, MARC)}
ARGUMENTS = {
    "Identify": (set(), set()),
    "ListMetadataFormats": (set(), {"identifier"}),
    "ListSets": (set(), {"resumptionToken"}),
    "GetRecord": ({"identifier", "metadataPrefix"}, set()),
    "ListIdentifiers": ({"metadataPrefix"}, {"from", "until", "set", "resumptionToken"}),
    "ListRecords": ({"metadataPrefix"}, {"from", "until", "set", "resumptionToken"}),
}


class OaiError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _day_or_time(value: str, end: bool) -> tuple[datetime, str]:
    try:
        if len(value) == 10:
            day = datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=UTC)
            return (day.replace(hour=23, minute=59, second=59) if end else day), "day"
        return datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC), "seconds"
    except ValueError:
        raise OaiError(
            "badArgument", f"{value!r} is not YYYY-MM-DD or YYYY-MM-DDThh:mm:ssZ"
        ) from None


def identifier(record: dict[str, Any]) -> str:
    return f"oai:libshare:{record['library']}:{record['local_id']}"


def _parse_identifier(value: str) -> tuple[str, str]:
    parts = value.split(":", 3)
    if len(parts) != 4 or parts[:2] != ["oai", "libshare"] or not parts[3]:
        raise OaiError("idDoesNotExist", f"{value!r} is not an identifier of this repository")
    return parts[2], parts[3]


def _token(state: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(state).encode()).decode()


def _untoken(value: str) -> dict[str, Any]:
    try:
        state = json.loads(base64.urlsafe_b64decode(value.encode()))
        assert isinstance(state, dict) and isinstance(state["after"], int)
        return state
    except Exception:
        raise OaiError("badResumptionToken", "the resumption token is not one we gave") from None


def _header(parent: etree._Element, record: dict[str, Any]) -> None:
    header = etree.SubElement(parent, f"{{{OAI}}}header")
    if record["deleted"]:
        header.set("status", "deleted")
    etree.SubElement(header, f"{{{OAI}}}identifier").text = identifier(record)
    etree.SubElement(header, f"{{{OAI}}}datestamp").text = _stamp(record["datestamp"])
    etree.SubElement(header, f"{{{OAI}}}setSpec").text = record["library"]


def _record(parent: etree._Element, record: dict[str, Any], prefix: str) -> None:
    element = etree.SubElement(parent, f"{{{OAI}}}record")
    _header(element, record)
    if not record["deleted"]:
        metadata = etree.SubElement(element, f"{{{OAI}}}metadata")
        metadata.append(dublin_core(record) if prefix == "oai_dc" else marc_element(record))


def _answer(sys: System, base_url: str, args: dict[str, str], repeated: bool) -> etree._Element:
    root = etree.Element(
        f"{{{OAI}}}OAI-PMH",
        nsmap={None: OAI, "xsi": XSI},
        attrib={f"{{{XSI}}}schemaLocation": f"{OAI} {OAI_SCHEMA}"},
    )
    etree.SubElement(root, f"{{{OAI}}}responseDate").text = _stamp(datetime.now(UTC))
    request = etree.SubElement(root, f"{{{OAI}}}request")
    request.text = base_url
    try:
        verb = args.get("verb", "")
        if repeated:
            raise OaiError("badArgument", "an argument is repeated")
        if verb not in ARGUMENTS:
            raise OaiError("badVerb", f"{verb!r} is not an OAI-PMH verb")
        required, optional = ARGUMENTS[verb]
        given = set(args) - {"verb"}
        exclusive = "resumptionToken" in given
        if (given - required - optional) or (not exclusive and required - given):
            raise OaiError("badArgument", f"{verb} takes {sorted(required | optional)}")
        if exclusive and given != {"resumptionToken"}:
            raise OaiError("badArgument", "resumptionToken is an exclusive argument")
        for name, value in args.items():
            request.set(name, value)
        body = etree.SubElement(root, f"{{{OAI}}}{verb}")
        with sys.db.transaction() as conn:
            _verb(conn, verb, args, body, base_url)
    except OaiError as exc:
        for name in list(request.attrib):
            del request.attrib[name]
        for child in root[2:]:
            root.remove(child)
        error = etree.SubElement(root, f"{{{OAI}}}error", code=exc.code)
        error.text = exc.message
    return root


def _verb(conn: Any, verb: str, args: dict[str, str], body: etree._Element, base: str) -> None:
    if verb == "Identify":
        earliest = earliest_datestamp(conn) or datetime(2025, 1, 1, tzinfo=UTC)
        for name, value in (
            ("repositoryName", "libshare: mục lục liên hợp / union catalogue"),
            ("baseURL", base),
            ("protocolVersion", "2.0"),
            ("adminEmail", "catalogue@libshare.invalid"),
            ("earliestDatestamp", _stamp(earliest)),
            ("deletedRecord", "persistent"),
            ("granularity", "YYYY-MM-DDThh:mm:ssZ"),
        ):
            etree.SubElement(body, f"{{{OAI}}}{name}").text = value
        return
    if verb == "ListMetadataFormats":
        if (
            "identifier" in args
            and one_record(conn, *_parse_identifier(args["identifier"])) is None
        ):
            raise OaiError("idDoesNotExist", f"no record {args['identifier']}")
        for prefix, (schema, namespace) in FORMATS.items():
            fmt = etree.SubElement(body, f"{{{OAI}}}metadataFormat")
            etree.SubElement(fmt, f"{{{OAI}}}metadataPrefix").text = prefix
            etree.SubElement(fmt, f"{{{OAI}}}schema").text = schema
            etree.SubElement(fmt, f"{{{OAI}}}metadataNamespace").text = namespace
        return
    if verb == "ListSets":
        if "resumptionToken" in args:
            raise OaiError("badResumptionToken", "ListSets is never split")
        for code, name in record_sets(conn):
            item = etree.SubElement(body, f"{{{OAI}}}set")
            etree.SubElement(item, f"{{{OAI}}}setSpec").text = code
            etree.SubElement(item, f"{{{OAI}}}setName").text = name
        return
    if verb == "GetRecord":
        prefix = _prefix(args["metadataPrefix"])
        record = one_record(conn, *_parse_identifier(args["identifier"]))
        if record is None:
            raise OaiError("idDoesNotExist", f"no record {args['identifier']}")
        _record(body, record, prefix)
        return
    # ListIdentifiers, ListRecords
    if "resumptionToken" in args:
        state = _untoken(args["resumptionToken"])
    else:
        state = {"after": 0, "prefix": _prefix(args["metadataPrefix"]), "set": args.get("set")}
        grains = set()
        for name, end in (("from", False), ("until", True)):
            if name in args:
                moment, grain = _day_or_time(args[name], end)
                state[name] = moment.isoformat()
                grains.add(grain)
        if len(grains) > 1:
            raise OaiError("badArgument", "from and until must have the same granularity")
    page = records_since(
        conn,
        library=state.get("set"),
        since=datetime.fromisoformat(state["from"]) if state.get("from") else None,
        until=datetime.fromisoformat(state["until"]) if state.get("until") else None,
        after_seq=state["after"],
        limit=PAGE + 1,
    )
    if not page and state["after"] == 0:
        raise OaiError("noRecordsMatch", "no records match")
    for record in page[:PAGE]:
        if verb == "ListRecords":
            _record(body, record, state["prefix"])
        else:
            _header(body, record)
    token = etree.SubElement(body, f"{{{OAI}}}resumptionToken")
    if len(page) > PAGE:
        token.text = _token({**state, "after": page[PAGE - 1]["seq"]})
    elif state["after"] == 0:
        body.remove(token)  # one page: no token at all


def _prefix(value: str) -> str:
    if value not in FORMATS:
        raise OaiError("cannotDisseminateFormat", f"{value!r}: we serve {sorted(FORMATS)}")
    return value


SUMMARY = "OAI-PMH 2.0: harvest the union catalogue's records (oai_dc, marcxml)"
XML: dict[int | str, dict[str, Any]] = {200: {"content": {"text/xml": {}}}}


@router.get("/oai", summary=SUMMARY, response_class=Response, responses=XML)
async def oai_pmh(request: Request, sys: Annotated[System, Depends(system)]) -> Response:
    return await _respond(request, sys, list(request.query_params.multi_items()))


@router.post("/oai", summary=SUMMARY + ", as a form", response_class=Response, responses=XML)
async def oai_pmh_form(request: Request, sys: Annotated[System, Depends(system)]) -> Response:
    form = [(k, str(v)) for k, v in (await request.form()).multi_items()]
    return await _respond(request, sys, list(request.query_params.multi_items()) + form)


async def _respond(request: Request, sys: System, pairs: list[tuple[str, str]]) -> Response:
    args = dict(pairs)
    base = str(request.url).split("?")[0]
    root = await run_in_threadpool(_answer, sys, base, args, len(args) != len(pairs))
    body = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    return Response(body, media_type="text/xml; charset=utf-8")
