"""ISO 18626 XML: the two schema generations (2021 and 2017 "v1_2"), read from the XSDs
at a configured folder; parsing an inbound message into its kind, header and the values we
use; building the messages and confirmations we send, for either generation (ADR 0028).
The XSDs are the official ones and are not in this repository: `LIBSHARE_ISO18626_XSD_DIR`
names the folder that holds ISO-18626-2021-2.xsd and ISO-18626-v1_2.xsd."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lxml import etree

NS = "http://illtransactions.org/2013/iso18626"
XSD_FILES = {"2021": "ISO-18626-2021-2.xsd", "2017": "ISO-18626-v1_2.xsd"}
VERSIONS = {"2021": "2021", "2017": "1.2"}
KINDS = ("request", "supplyingAgencyMessage", "requestingAgencyMessage")
CONFIRMATION = {k: f"{k}Confirmation" for k in KINDS}
ERROR_TYPES = (
    "UnsupportedActionType",
    "UnsupportedReasonForMessageType",
    "UnrecognisedDataElement",
    "UnrecognisedDataValue",
    "BadlyFormedMessage",
)
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
_ELEMENT = re.compile(r"Element '(?:\{[^}]*\})?(\w+)'")
_VALUE = re.compile(r"The value '([^']*)'")
# Which errorType a schema violation of an element's value gets.
_VALUE_ERRORS = {
    "action": "UnsupportedActionType",
    "reasonForMessage": "UnsupportedReasonForMessageType",
}


class Refused(Exception):
    """A message we answer with an ERROR confirmation."""

    def __init__(self, error_type: str, value: str) -> None:
        super().__init__(f"{error_type}: {value}")
        self.error_type = error_type
        self.value = value


class Schemas:
    """Both generations' XML Schemas, compiled once."""

    def __init__(self, xsd_dir: Path) -> None:
        self.schemas: dict[str, Any] = {}
        for generation, name in XSD_FILES.items():
            path = xsd_dir / name
            if not path.is_file():
                raise FileNotFoundError(f"the ISO 18626 schema {path} is missing")
            self.schemas[generation] = etree.XMLSchema(etree.parse(str(path), _PARSER))

    def generation_of(self, doc: Any) -> str | None:
        """The generation `doc` is valid in (2021 tried first), or None."""
        for generation in ("2021", "2017"):
            if self.schemas[generation].validate(doc):
                return generation
        return None

    def check(self, doc: Any, generation: str) -> None:
        """Raise ValueError naming the first violation unless `doc` is valid."""
        schema = self.schemas[generation]
        if not schema.validate(doc):
            raise ValueError(str(schema.error_log.filter_from_errors()[0].message))

    def refusal(self, doc: Any) -> Refused:
        """Why `doc` is invalid, as errorType and value: by the schema its version names."""
        version = str(doc.getroot().get(f"{{{NS}}}version") or doc.getroot().get("version") or "")
        schema = self.schemas["2017" if version.startswith("1") else "2021"]
        schema.validate(doc)
        errors = list(schema.error_log.filter_from_errors())
        for error in errors:
            element, value = _ELEMENT.search(error.message), _VALUE.search(error.message)
            if element and value and "enumeration" in error.message:
                name = element.group(1)
                kind = _VALUE_ERRORS.get(name, "UnrecognisedDataValue")
                return Refused(kind, f"{name}: {value.group(1)} is not a value of the schema")
        for error in errors:
            element = _ELEMENT.search(error.message)
            if element and "not expected" in error.message:
                return Refused("UnrecognisedDataElement", f"{element.group(1)}: not expected here")
        first = errors[0].message if errors else "not valid"
        return Refused("BadlyFormedMessage", first[:300])


@dataclass
class Message:
    """An inbound message: its kind, generation and the values we read."""

    kind: str
    generation: str
    header: dict[str, str]
    values: dict[str, str] = field(default_factory=dict)
    # a request's bibliographicItemId and bibliographicRecordId: (code, identifier) each
    item_ids: tuple[tuple[str, str], ...] = ()
    record_ids: tuple[tuple[str, str], ...] = ()


def _q(name: str) -> str:
    return f"{{{NS}}}{name}"


def _text(node: Any, path: str) -> str:
    found = node.find(path.replace("/", "/ill:").join(["ill:", ""]), {"ill": NS})
    return (found.text or "").strip() if found is not None and found.text else ""


def kind_of(body: bytes) -> tuple[Any, str | None]:
    """The parsed document and its message kind (None: not an ISO 18626 message)."""
    try:
        doc = etree.ElementTree(etree.fromstring(body, _PARSER))
    except etree.XMLSyntaxError:
        return None, None
    root = doc.getroot()
    if root.tag != _q("ISO18626Message") or len(root) != 1:
        return doc, None
    tag = root[0].tag
    kind = tag.split("}", 1)[1] if isinstance(tag, str) and tag.startswith(f"{{{NS}}}") else None
    return doc, kind if kind in KINDS else None


_READ = {
    "request": {
        "work": "bibliographicInfo/supplierUniqueRecordId",
        "title": "bibliographicInfo/title",
        "author": "bibliographicInfo/author",
        "publication_date": "publicationInfo/publicationDate",
        "request_type": "serviceInfo/requestType",
        "service_type": "serviceInfo/serviceType",
        "need_before": "serviceInfo/needBeforeDate",
        "patron": "patronInfo/patronId",
        "note": "serviceInfo/note",
    },
    "supplyingAgencyMessage": {
        "reason": "messageInfo/reasonForMessage",
        "answer": "messageInfo/answerYesNo",
        "note": "messageInfo/note",
        "reason_unfilled": "messageInfo/reasonUnfilled",
        "reason_retry": "messageInfo/reasonRetry",
        "status": "statusInfo/status",
        "due_date": "statusInfo/dueDate",
        "item_id": "deliveryInfo/itemId",
        "loan_condition": "retryInfo/loanCondition",
        "cost": "retryInfo/offeredCosts/monetaryValue",
        "retry_after": "retryInfo/retryAfter",
        "cost_2017": "messageInfo/offeredCosts/monetaryValue",
        "retry_after_2017": "messageInfo/retryAfter",
    },
    "requestingAgencyMessage": {"action": "action", "note": "note"},
}


def read(doc: Any, kind: str, generation: str) -> Message:
    body = doc.getroot()[0]
    h = body.find(_q("header"))
    header = {
        "supplying_type": _text(h, "supplyingAgencyId/agencyIdType"),
        "supplying_value": _text(h, "supplyingAgencyId/agencyIdValue"),
        "requesting_type": _text(h, "requestingAgencyId/agencyIdType"),
        "requesting_value": _text(h, "requestingAgencyId/agencyIdValue"),
        "timestamp": _text(h, "timestamp"),
        "requesting_request_id": _text(h, "requestingAgencyRequestId"),
        "supplying_request_id": _text(h, "supplyingAgencyRequestId"),
    }
    values = {name: _text(body, path) for name, path in _READ[kind].items()}
    return Message(
        kind,
        generation,
        header,
        {k: v for k, v in values.items() if v},
        _pairs(body, "bibliographicItemId", "bibliographicItemIdentifier"),
        _pairs(body, "bibliographicRecordId", "bibliographicRecordIdentifier"),
    )


def _pairs(body: Any, element: str, identifier: str) -> tuple[tuple[str, str], ...]:
    """The (code, identifier) of each `element` in a request's bibliographicInfo."""
    found = body.findall(f"ill:bibliographicInfo/ill:{element}", {"ill": NS})
    pairs = ((_text(n, f"{identifier}Code"), _text(n, identifier)) for n in found)
    return tuple((code, value) for code, value in pairs if value)


# -- building -------------------------------------------------------------------------
def _sub(parent: Any, name: str, text: str | None = None) -> Any:
    node = etree.SubElement(parent, _q(name))
    if text is not None:
        node.text = text
    return node


def _agency(parent: Any, name: str, agency: tuple[str, str]) -> None:
    node = _sub(parent, name)
    _sub(node, "agencyIdType", agency[0])
    _sub(node, "agencyIdValue", agency[1])


@dataclass(frozen=True)
class Header:
    supplying: tuple[str, str]
    requesting: tuple[str, str]
    timestamp: str  # xs:dateTime, with Z or +hh:mm
    requesting_request_id: str
    supplying_request_id: str = ""


def _envelope(generation: str) -> Any:
    root = etree.Element(_q("ISO18626Message"), nsmap={None: NS, "ill": NS})
    root.set(_q("version"), VERSIONS[generation])
    return root


def _header(parent: Any, h: Header, generation: str, kind: str) -> None:
    node = _sub(parent, "header")
    _agency(node, "supplyingAgencyId", h.supplying)
    _agency(node, "requestingAgencyId", h.requesting)
    if generation == "2017":
        _sub(node, "multipleItemRequestId", "")
    _sub(node, "timestamp", h.timestamp)
    _sub(node, "requestingAgencyRequestId", h.requesting_request_id)
    if h.supplying_request_id and kind != "request":
        _sub(node, "supplyingAgencyRequestId", h.supplying_request_id)


def _bytes(root: Any) -> bytes:
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))


def build_request(
    generation: str,
    h: Header,
    *,
    work: str,
    title: str,
    service_type: str,
    request_type: str = "New",
    need_before: str = "",
    author: str = "",
    isbns: tuple[str, ...] = (),
) -> bytes:
    root = _envelope(generation)
    body = _sub(root, "request")
    _header(body, h, generation, "request")
    bib = _sub(body, "bibliographicInfo")
    _sub(bib, "supplierUniqueRecordId", work)
    if title:
        _sub(bib, "title", title)
    if author:
        _sub(bib, "author", author)
    for isbn in isbns:
        item = _sub(bib, "bibliographicItemId")
        _sub(item, "bibliographicItemIdentifierCode", "ISBN")
        _sub(item, "bibliographicItemIdentifier", isbn)
    service = _sub(body, "serviceInfo")
    _sub(service, "requestType", request_type)
    _sub(service, "serviceType", service_type)
    if need_before:
        _sub(service, "needBeforeDate", need_before)
    return _bytes(root)


def build_supplying(
    generation: str,
    h: Header,
    *,
    reason: str,
    status: str,
    last_change: str,
    answer: str = "",
    note: str = "",
    reason_unfilled: str = "",
    reason_retry: str = "",
    due_date: str = "",
    item_id: str = "",
    condition: str = "",
    cost: str = "",
    retry_after: str = "",
) -> bytes:
    root = _envelope(generation)
    body = _sub(root, "supplyingAgencyMessage")
    _header(body, h, generation, "supplyingAgencyMessage")
    info = _sub(body, "messageInfo")
    _sub(info, "reasonForMessage", reason)
    if answer:
        _sub(info, "answerYesNo", answer)
    if note:
        _sub(info, "note", note)
    if reason_unfilled:
        _sub(info, "reasonUnfilled", reason_unfilled)
    if reason_retry:
        _sub(info, "reasonRetry", reason_retry)
    if generation == "2017":
        if cost:
            costs = _sub(info, "offeredCosts")
            _sub(costs, "currencyCode", "VND")
            _sub(costs, "monetaryValue", cost)
        if retry_after:
            _sub(info, "retryAfter", retry_after)
    status_info = _sub(body, "statusInfo")
    _sub(status_info, "status", status)
    if due_date:
        _sub(status_info, "dueDate", due_date)
    _sub(status_info, "lastChange", last_change)
    if generation == "2021" and (condition or cost or retry_after):
        retry = _sub(body, "retryInfo")
        if condition:
            _sub(retry, "loanCondition", condition)
        if cost:
            costs = _sub(retry, "offeredCosts")
            _sub(costs, "currencyCode", "VND")
            _sub(costs, "monetaryValue", cost)
        if retry_after:
            _sub(retry, "retryAfter", retry_after)
    if item_id:
        delivery = _sub(body, "deliveryInfo")
        _sub(delivery, "dateSent", last_change)
        _sub(delivery, "itemId", item_id)
    return _bytes(root)


def build_requesting(generation: str, h: Header, *, action: str, note: str = "") -> bytes:
    root = _envelope(generation)
    body = _sub(root, "requestingAgencyMessage")
    _header(body, h, generation, "requestingAgencyMessage")
    _sub(body, "action", action)
    if note:
        _sub(body, "note", note)
    return _bytes(root)


def build_confirmation(
    generation: str,
    kind: str,
    header: dict[str, str],
    *,
    received_at: str,
    error: Refused | None = None,
    echo: str = "",
) -> bytes:
    """The confirmation of an inbound message of `kind` (header: as `read` gives it):
    OK, or ERROR with the errorType and the offending value. `echo`: the
    reasonForMessage or action confirmed."""
    root = _envelope(generation)
    body = _sub(root, CONFIRMATION.get(kind, "requestConfirmation"))
    ch = _sub(body, "confirmationHeader")
    if header.get("supplying_value"):
        _agency(ch, "supplyingAgencyId", (header["supplying_type"], header["supplying_value"]))
    if header.get("requesting_value"):
        _agency(ch, "requestingAgencyId", (header["requesting_type"], header["requesting_value"]))
    _sub(ch, "timestamp", header.get("timestamp") or received_at)
    if header.get("requesting_request_id"):
        _sub(ch, "requestingAgencyRequestId", header["requesting_request_id"])
    _sub(ch, "timestampReceived", received_at)
    _sub(ch, "messageStatus", "ERROR" if error else "OK")
    if echo and kind == "supplyingAgencyMessage":
        _sub(body, "reasonForMessage", echo)
    if echo and kind == "requestingAgencyMessage":
        _sub(body, "action", echo)
    if error is not None:
        data = _sub(body, "errorData")
        _sub(data, "errorType", error.error_type)
        _sub(data, "errorValue", error.value)
    return _bytes(root)


def read_confirmation(body: bytes) -> tuple[str, str, str]:
    """A confirmation's messageStatus, errorType and errorValue ("" where absent)."""
    try:
        root = etree.fromstring(body, _PARSER)
    except etree.XMLSyntaxError:
        return "", "", ""
    ns = {"ill": NS}

    def first(path: str) -> str:
        found = root.xpath(path, namespaces=ns)
        return str(found[0]).strip() if found else ""

    return (
        first("//ill:confirmationHeader/ill:messageStatus/text()"),
        first("//ill:errorData/ill:errorType/text()"),
        first("//ill:errorData/ill:errorValue/text()"),
    )
