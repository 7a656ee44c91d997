"""A library's record as simple Dublin Core (oai_dc for OAI-PMH, info:srw/schema/1/dc-v1.1
for SRU), and its MARCXML as an element to put in a response."""

from __future__ import annotations

from typing import Any

from lxml import etree

OAI_DC = "http://www.openarchives.org/OAI/2.0/oai_dc/"
DC = "http://purl.org/dc/elements/1.1/"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
SRW_DC = "info:srw/schema/1/dc-schema"
MARC = "http://www.loc.gov/MARC21/slim"
OAI_DC_SCHEMA = "http://www.openarchives.org/OAI/2.0/oai_dc.xsd"
MARC_SCHEMA = "http://www.loc.gov/standards/marcxml/schema/MARC21slim.xsd"


def dublin_core(record: dict[str, Any], sru: bool = False) -> etree._Element:
    """oai_dc's <oai_dc:dc>, or for SRU <srw_dc:dc> (info:srw/schema/1/dc-v1.1)."""
    if sru:
        root = etree.Element(f"{{{SRW_DC}}}dc", nsmap={"srw_dc": SRW_DC, "dc": DC})
    else:
        root = etree.Element(
            f"{{{OAI_DC}}}dc",
            nsmap={"oai_dc": OAI_DC, "dc": DC, "xsi": XSI},
            attrib={f"{{{XSI}}}schemaLocation": f"{OAI_DC} {OAI_DC_SCHEMA}"},
        )

    def add(name: str, value: str) -> None:
        if value:
            etree.SubElement(root, f"{{{DC}}}{name}").text = value

    add("title", record["title"])
    for original in record["originals"]:
        add("title", original)
    add("creator", record["creator"])
    add("date", record["year"])
    add("language", record["language"])
    for isbn in record["isbns"]:
        add("identifier", f"urn:isbn:{isbn}")
    add("identifier", f"libshare:{record['work']}")
    return root


def marc_element(record: dict[str, Any]) -> etree._Element:
    element: etree._Element = etree.fromstring(record["marcxml"].encode("utf-8"))
    return element
