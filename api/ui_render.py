"""How the web UI's pages are made: a Jinja2 template with the page's language, its
CSRF token, the signed-in account's library and the flash messages, sent with the
security headers; and the redirect after a form (POST, then GET)."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates

from api.i18n import TEXT, iso_label
from api.ui_figures import number
from api.ui_guard import HEADERS, csrf_token, guard, language
from domain.access import Principal

templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))


def render(request: Request, template: str, me: Principal | None, **context: Any) -> HTMLResponse:
    lang = language(request)
    page = templates.TemplateResponse(
        request,
        template,
        {
            "csrf": csrf_token(request),
            "t": TEXT[lang],
            "lang": lang,
            "other": "en" if lang == "vi" else "vi",
            "label": lambda name: iso_label(name, lang),
            # a figure in the page's language: 28.000 in Vietnamese, 28,000 in English
            "figure": lambda value, digits=0: number(value, lang, digits),
            "library": me.library if me else None,
            "account": me.account if me else None,
            "error": request.query_params.get("error"),
            "done": request.query_params.get("done"),
            **context,
        },
    )
    return guard(request, page)  # type: ignore[return-value]


def redirect(path: str, lang: str, **params: str) -> RedirectResponse:
    query = "&".join([f"lang={lang}", *(f"{k}={quote(v)}" for k, v in params.items())])
    return RedirectResponse(f"{path}?{query}", status_code=303, headers=HEADERS)
