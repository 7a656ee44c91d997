"""The checks a web UI page makes before it does anything, in one place: a form posted
with an expired CSRF token goes back to its page; someone not (or no longer) signed in
goes to the sign-in form, which brings them back (`signed_out`); an account that is not a
librarian of a library with the page's permission goes to the start page, told why.

Each check raises `Leave` with the redirect; `install` answers it. A page reads as
`me, here = librarian(request, me, Permission.X)` and goes on with what it is for."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import Response

from api.i18n import TEXT
from api.ui_guard import language
from api.ui_render import redirect
from api.ui_session import signed_out
from domain.access import Permission, Principal, may


class Leave(Exception):
    """A UI page sends the browser elsewhere before doing anything."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.headers.get("location", ""))
        self.response = response


def install(app: FastAPI) -> None:
    """Answer a `Leave` with its redirect."""

    @app.exception_handler(Leave)
    async def _leave(request: Request, exc: Leave) -> Response:
        return exc.response


def leave(request: Request, path: str, text_key: str) -> Leave:
    """A redirect to `path` that says TEXT[text_key] in the page's language."""
    lang = language(request)
    return Leave(redirect(path, lang, error=TEXT[lang][text_key]))


def posted(request: Request, form_ok: bool, page: str) -> None:
    """A form whose CSRF token is not the browser's (it expired) returns to `page`."""
    if not form_ok:
        raise leave(request, page, "form_expired")


def signed_in(request: Request, me: Principal | None, page: str | None = None) -> Principal:
    """`me`, or off to the sign-in form, which returns to `page` (this page if a GET)."""
    if me is None:
        raise Leave(signed_out(request, page))
    return me


def librarian(
    request: Request,
    me: Principal | None,
    permission: Permission | None = None,
    page: str | None = None,
) -> tuple[Principal, str]:
    """`me` and my library's code if I am signed in as a librarian of a library (with
    `permission` there, if one is named); else to the sign-in form or the start page."""
    me = signed_in(request, me, page)
    if not me.library or (
        permission is not None and may(me, permission, library=me.library) is None
    ):
        raise leave(request, "/", "not_librarian")
    return me, me.library
