"""Where a page sends someone who is not (or no longer) signed in: to the sign-in form,
which brings them back to the page they were on once they have signed in again. A
session cookie that is there but no longer valid (expired, or the account disabled) says
so; a form posted after expiry returns to the page it was posted from (what it held is
not sent again: the librarian sees the page as it now is and repeats the step)."""

from __future__ import annotations

import re
from urllib.parse import urlencode, urlsplit

from fastapi import Request
from fastapi.responses import RedirectResponse

from api.auth import UI_COOKIE
from api.i18n import TEXT
from api.ui_guard import HEADERS, language

# Only our own pages are a place to return to (no scheme, no host, no "//").
LOCAL_PAGE = re.compile(r"^/ui/[A-Za-z0-9/_\-.~%]*(\?[A-Za-z0-9_\-.~%=&+]*)?$")


def back_to(target: str | None) -> str:
    """`target` if it is one of our pages, else the dashboard."""
    if target and LOCAL_PAGE.match(target) and "//" not in target:
        return target
    return "/ui/requests"


def signed_out(request: Request, page: str | None = None) -> RedirectResponse:
    """To the sign-in form, carrying the page to come back to (`page`, or the one asked
    for when it was a GET)."""
    lang = language(request)
    if page is None:
        page = request.url.path
        query = urlencode(
            [(k, v) for k, v in request.query_params.multi_items() if k not in ("lang", "v")]
        )
        if query and request.method == "GET":
            page = f"{page}?{query}"
    expired = bool(request.cookies.get(UI_COOKIE))
    why = TEXT[lang]["session_expired" if expired else "sign_in_first"]
    query = urlencode({"lang": lang, "error": why, "next": back_to(page)})
    response = RedirectResponse(f"/?{query}", status_code=303, headers=HEADERS)
    if expired:
        response.delete_cookie(UI_COOKIE)
    return response


def next_of(request: Request) -> str:
    """The page the sign-in form was asked to return to (`?next=`), made safe."""
    target = request.query_params.get("next")
    return back_to(urlsplit(target).geturl() if target else None)
