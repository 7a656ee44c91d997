"""Errors as RFC 9457 problem+json, mapped in this one place. Each problem has a stable
`type` URI (relative to the API, served at /problems/{slug} with its description)."""

from __future__ import annotations

from typing import Any

import eventsourcing.persistence as es_persistence
import psycopg
import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.ui_problems import is_ui, ui_problem
from domain.access import Forbidden
from domain.digital_errors import ViewerLinkDead
from domain.errors import (
    AlreadyExists,
    Conflict,
    DomainError,
    IdempotencyKeyReused,
    IllegalTransition,
    InvalidInput,
    NotFound,
    NotYourTurn,
)
from infra.database import connection_lost

log = structlog.get_logger("libshare.api")

MEDIA_TYPE = "application/problem+json"

# slug -> (HTTP status, title, description). The slugs are a public contract.
PROBLEMS: dict[str, tuple[int, str, str]] = {
    "invalid-input": (422, "Invalid input", "The request's data breaks a rule of the domain."),
    "validation-error": (
        422,
        "Validation error",
        "The request's body or parameters are malformed.",
    ),
    "already-exists": (
        409,
        "Already exists",
        "Something with this identity exists with other data.",
    ),
    "card-not-valid": (
        409,
        "The reader's card may not borrow",
        "The card is pending, suspended, expired or erased: it borrows at no library.",
    ),
    "not-found": (404, "Not found", "The resource does not exist (or is not visible to you)."),
    "domain-error": (409, "The command was refused", "The command is not valid now."),
    "illegal-transition": (
        409,
        "Not allowed in this state",
        "The request's current status does not allow this action; `allowed` lists what does.",
    ),
    "not-party": (
        403,
        "Not your library's turn",
        "Your library is not the party (requester or current supplier) that may do this.",
    ),
    "conflict": (
        409,
        "Changed by someone else first",
        "Another librarian acted first; `current` holds the request's state now.",
    ),
    "idempotency-key-reused": (
        422,
        "Client request id already used for another command",
        "This client_request_id already named another command of your library (another "
        "request, action or data); nothing was done. Use a new id for a new command.",
    ),
    "bad-legal-act": (
        422,
        "The legal act is not valid",
        "A reorganisation names its legal act: kind and number (e.g. 'Nghị quyết "
        "202/2025/QH15'), the day it was made (of the year its number says) and an "
        "effective day not before that.",
    ),
    "merge-into-itself": (
        422,
        "A library cannot be merged into itself",
        "Name another library to merge into.",
    ),
    "library-merged": (
        409,
        "The library was merged into another",
        "The library was merged into another (the detail says which, from when, by which "
        "act): it takes no new requests and no other reorganisation; ask the library it "
        "became part of.",
    ),
    "code-in-use": (
        409,
        "The library code is in use",
        "Another library has or had this code (codes are never reused: old events name "
        "libraries by them).",
    ),
    "not-lendable": (
        409,
        "Not lendable digitally",
        "The work's recorded rights do not allow digital lending (to this reader, now).",
    ),
    "no-copy-free": (
        409,
        "No digital copy is free",
        "Every copy the rights allow is lent or offered to someone waiting: place a hold.",
    ),
    "cooling-off": (
        409,
        "The reader borrowed this work too recently",
        "After a digital loan ends the same reader waits a cooling-off time (24 h) before "
        "borrowing or holding the same work again; the detail says from when.",
    ),
    "reader-limit": (
        409,
        "The reader has as many digital loans or holds as allowed",
        "A reader has at most 3 digital loans and 5 holds across the network.",
    ),
    "renewal-refused": (
        409,
        "The loan cannot be renewed",
        "A digital loan renews once, only while nobody waits and the loan has not expired.",
    ),
    "viewer-link-dead": (
        410,
        "The viewer link does not open this work (any more)",
        "The link was not issued by us, has expired, or its loan was returned or expired. "
        "Ask the library for a new link while the loan runs.",
    ),
    "rate-limited": (429, "Too many requests", "Slow down; Retry-After says when to retry."),
    "unauthenticated": (
        401,
        "Who are you?",
        "Sign in: send `Authorization: Bearer` with a token from /auth/token or an API key.",
    ),
    "forbidden": (
        403,
        "Not allowed for your account",
        "Your account is known but none of its roles may do this here.",
    ),
    "login-throttled": (
        429,
        "Too many failed sign-ins",
        "Sign-ins for this account wait after repeated failures; Retry-After says how long.",
    ),
    "http-error": (400, "HTTP error", "The request could not be served as sent."),
    "internal-error": (500, "Internal error", "Something failed on our side; it was logged."),
    "unavailable": (
        503,
        "Temporarily unavailable",
        "The database could not take the command (restarting, our connection to it cut, or "
        "too busy). It may or may not have been written: retry after Retry-After seconds "
        "with the same client_request_id, which returns the first result if it was.",
    ),
}

# The database away or our connection to it cut (psycopg's and eventsourcing's names for
# it): the command did not commit, so the answer is 503, never 500.
UNAVAILABLE: tuple[type[Exception], ...] = (
    psycopg.OperationalError,
    psycopg.InterfaceError,
    es_persistence.OperationalError,
    es_persistence.InterfaceError,
    es_persistence.ConnectionUnavailableError,
)
RETRY_AFTER_S = 2

STATUS_OF: dict[type[DomainError], int] = {
    InvalidInput: 422,
    AlreadyExists: 409,
    NotFound: 404,
    IllegalTransition: 409,
    NotYourTurn: 403,
    Conflict: 409,
    Forbidden: 403,
    ViewerLinkDead: 410,
    IdempotencyKeyReused: 422,
}


def problem(
    slug: str,
    detail: str,
    *,
    status: int | None = None,
    request: Request | None = None,
    **extra: Any,
) -> JSONResponse:
    default_status, title, _ = PROBLEMS.get(slug, PROBLEMS["http-error"])
    body: dict[str, Any] = {
        "type": f"/problems/{slug}",
        "title": title,
        "status": status or default_status,
        "detail": detail,
    }
    if request is not None:
        body["instance"] = request.url.path
        rid = getattr(request.state, "request_id", None)
        if rid:
            body["request_id"] = rid
    body.update(extra)
    return JSONResponse(body, status_code=body["status"], media_type=MEDIA_TYPE)


def install(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError) -> JSONResponse:
        status = next((s for t, s in STATUS_OF.items() if isinstance(exc, t)), 409)
        extra: dict[str, Any] = {}
        if isinstance(exc, IllegalTransition):
            extra = {"state": exc.state, "command": exc.command, "allowed": exc.allowed}
        if isinstance(exc, Conflict) and exc.current:
            extra = {"current": exc.current}
        return problem(exc.slug, exc.detail, status=status, request=request, **extra)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        if is_ui(request):
            return ui_problem(request, 422, [e.get("loc", ()) for e in exc.errors()])
        errors = [
            {"location": list(e.get("loc", ())), "message": e.get("msg", "")} for e in exc.errors()
        ]
        return problem(
            "validation-error",
            "The request is malformed; see errors.",
            request=request,
            errors=errors,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        if is_ui(request) and exc.status_code in (404, 405):
            return ui_problem(request, 404)
        slug = {404: "not-found", 401: "unauthenticated"}.get(exc.status_code, "http-error")
        response = problem(slug, str(exc.detail), status=exc.status_code, request=request)
        response.headers.update(exc.headers or {})
        return response

    async def _unavailable(request: Request, exc: Exception) -> JSONResponse:
        log.warning("database unavailable", path=request.url.path, error=repr(exc))
        system = getattr(request.app.state, "system", None)
        lost = connection_lost(exc) or connection_lost(exc.__cause__ or exc)
        if system is not None and lost:  # drop every dead connection now, not one per caller
            await run_in_threadpool(system.purge_broken_connections)
        response = problem(
            "unavailable",
            "The database could not take the command; retry with the same client_request_id.",
            request=request,
        )
        response.headers["Retry-After"] = str(RETRY_AFTER_S)
        return response

    for kind in UNAVAILABLE:
        app.add_exception_handler(kind, _unavailable)

    @app.exception_handler(Exception)
    async def _internal(request: Request, exc: Exception) -> Response:
        if isinstance(exc, UNAVAILABLE) or isinstance(exc.__cause__, UNAVAILABLE):
            return await _unavailable(request, exc)
        if is_ui(request):
            return ui_problem(request, 500)
        return problem("internal-error", "An unexpected error occurred.", request=request)

    @app.get("/problems/{slug}", tags=["meta"], summary="What a problem type means")
    def describe(slug: str) -> dict[str, Any]:
        if slug not in PROBLEMS:
            raise StarletteHTTPException(404, f"no problem type {slug!r}")
        status, title, description = PROBLEMS[slug]
        return {
            "type": f"/problems/{slug}",
            "status": status,
            "title": title,
            "description": description,
        }
