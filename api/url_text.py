"""Paths and query strings carry no control characters: a request whose decoded path or
query names or values hold one (C0, DEL, C1; a NUL would fail in PostgreSQL) is answered
422 `validation-error` before any endpoint runs. The OpenAPI document declares the same
pattern on every free string parameter (api/openapi.py)."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl

from fastapi import FastAPI, Request
from starlette.types import ASGIApp, Receive, Scope, Send

from api.problems import problem

CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


class RefuseControlCharacters:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            where = _control_in(scope)
            if where:
                response = problem(
                    "validation-error",
                    "The request is malformed; see errors.",
                    request=Request(scope),
                    errors=[{"location": where, "message": "control characters are refused"}],
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _control_in(scope: Scope) -> list[str] | None:
    if CONTROL.search(scope.get("path", "")):
        return ["path"]
    query = scope.get("query_string", b"").decode("latin-1")
    for name, value in parse_qsl(query, keep_blank_values=True):
        if CONTROL.search(name) or CONTROL.search(value):
            return ["query", name]
    return None


def install(app: FastAPI) -> None:
    app.add_middleware(RefuseControlCharacters)
