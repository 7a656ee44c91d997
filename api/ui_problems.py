"""What a person in the web UI sees when a page is asked for wrongly (a field missing or
malformed, no such page, an unexpected error): a page in their language that says what
was wrong and leads back, never the API's problem+json (which machines get)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import Request
from fastapi.responses import Response

from api.i18n import TEXT
from api.ui_guard import language
from api.ui_render import render


def is_ui(request: Request) -> bool:
    return request.url.path.startswith("/ui/")


def ui_problem(request: Request, status: int, fields: Sequence[Any] = ()) -> Response:
    lang = language(request)
    t = TEXT[lang]
    what = {422: "problem_form", 404: "problem_not_found"}.get(status, "problem_internal")
    names = sorted({str(f[-1]) for f in fields if f and f[0] in ("query", "body", "path")})
    page = render(request, "problem.html", None, what=t[what], fields=names)
    page.status_code = status
    return page
