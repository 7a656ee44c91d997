"""What every page of the web UI carries (issue 21): security headers (a
Content-Security-Policy that needs no inline script or style, frame-ancestors, nosniff, a
Referrer-Policy), a CSRF token for its forms (double submit: a random value in a
SameSite=Strict cookie, echoed by each form and compared on every POST), and the
language, Vietnamese unless the person chose English (remembered in a cookie; a
browser's English preference does not switch it)."""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated

from fastapi import Form, Request
from fastapi.responses import Response

CSRF_COOKIE = "libshare_csrf"
LANG_COOKIE = "libshare_lang"
LANGUAGES = ("vi", "en")
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
        "form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def language(request: Request) -> str:
    """`?lang=` if given, else the one chosen before (its cookie), else Vietnamese."""
    asked = request.query_params.get("lang")
    if asked in LANGUAGES:
        return asked
    kept = request.cookies.get(LANG_COOKIE)
    return kept if kept in LANGUAGES else "vi"


def csrf_token(request: Request) -> str:
    """The CSRF token the page's forms carry: the browser's, or a new one set with the
    page (`guard`)."""
    found = getattr(request.state, "csrf", None) or request.cookies.get(CSRF_COOKIE)
    if not found or len(found) < 32:
        found = secrets.token_urlsafe(32)
    request.state.csrf = found
    return str(found)


def guard(request: Request, response: Response) -> Response:
    """Give a UI response its headers, and the cookies of its CSRF token and language."""
    response.headers.update(HEADERS)
    secure = request.url.scheme == "https"
    token = getattr(request.state, "csrf", None)
    if token and request.cookies.get(CSRF_COOKIE) != token:
        response.set_cookie(
            CSRF_COOKIE, token, httponly=True, samesite="strict", secure=secure, max_age=86400
        )
    asked = request.query_params.get("lang")
    if asked in LANGUAGES and request.cookies.get(LANG_COOKIE) != asked:
        response.set_cookie(LANG_COOKIE, asked, samesite="lax", secure=secure, max_age=31536000)
    return response


def csrf_ok(request: Request, csrf: Annotated[str, Form()] = "") -> bool:
    """Whether a form's CSRF token is the browser's own (a dependency of every UI POST)."""
    kept = request.cookies.get(CSRF_COOKIE, "")
    return bool(kept) and hmac.compare_digest(kept.encode(), csrf.encode())
