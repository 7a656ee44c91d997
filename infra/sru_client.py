"""Asking an outside library's SRU server how many of its records match a CQL query (the
lookup hook of ISO 18626 peers, ADR 0028 as amended 2026-12-02): SRU 1.2 and 2.0 both
answer `numberOfRecords`; a diagnostic without it, a timeout or an HTTP error raises."""

from __future__ import annotations

import ssl

import httpx
from lxml import etree

_PARSER = etree.XMLParser(resolve_entities=False, no_network=True)


def sru_count(url: str, query: str, *, timeout: float, verify: ssl.SSLContext | bool) -> int:
    response = httpx.get(
        url,
        params={
            "operation": "searchRetrieve",
            "version": "2.0",
            "query": query,
            "maximumRecords": "0",
        },
        timeout=timeout,
        verify=verify,
    )
    response.raise_for_status()
    root = etree.fromstring(response.content, _PARSER)
    found = root.xpath("//*[local-name()='numberOfRecords']/text()")
    if not found:
        raise ValueError(f"no numberOfRecords in the SRU answer of {url}")
    return int(str(found[0]).strip())
