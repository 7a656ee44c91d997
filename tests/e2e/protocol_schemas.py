"""The official OAI-PMH 2.0, SRU 2.0 and MARC21-slim schemas, read at test time from
../shared/interop/protocol-xsd (never copied into the project); a test skips without them.
The SRU schema imports its parts by their OASIS addresses: they resolve to the files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from lxml import etree

XSD = Path(__file__).resolve().parents[3] / "shared" / "interop" / "protocol-xsd"


class _Local(etree.Resolver):  # type: ignore[misc]
    def resolve(self, url: str, public_id: str, context: Any) -> Any:
        local = XSD / "sru-2.0-oasis" / url.rsplit("/", 1)[-1]
        return self.resolve_filename(str(local), context) if local.exists() else None


def schema(name: str) -> etree.XMLSchema:
    path = XSD / name
    if not path.exists():
        pytest.skip(f"{path} is absent: the official schemas are not here to validate against")
    parser = etree.XMLParser(no_network=True)
    parser.resolvers.add(_Local())
    return etree.XMLSchema(etree.parse(str(path), parser))


def valid(xsd: etree.XMLSchema, document: etree._Element) -> None:
    if not xsd.validate(document):
        raise AssertionError(f"invalid: {xsd.error_log}\n{etree.tostring(document)[:2000]!r}")


OAI_PMH = "oai-pmh-2.0/OAI-PMH.xsd"
SRU_RESPONSE = "sru-2.0-oasis/sruResponse.xsd"
MARC21_SLIM = "marcxml/MARC21slim.xsd"
