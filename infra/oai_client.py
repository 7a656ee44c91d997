"""Fetching an OAI-PMH page from a remote provider over HTTP (stdlib urllib): the bytes
of the answer, or an OSError when the provider cannot be reached or answers an HTTP error."""

from __future__ import annotations

import urllib.parse
import urllib.request

USER_AGENT = "libshare-harvester/1 (+OAI-PMH 2.0)"


def fetch(base_url: str, params: dict[str, str], timeout: float = 60.0) -> bytes:
    separator = "&" if "?" in base_url else "?"
    url = base_url + separator + urllib.parse.urlencode(params)
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    with urllib.request.urlopen(request, timeout=timeout) as answer:
        body: bytes = answer.read()
    return body
