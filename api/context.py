"""Per-request context: request id and correlation id (from headers or new), bound to the
logs, echoed in responses, and a server span around the request."""

from __future__ import annotations

import time
import uuid
from collections.abc import Awaitable, Callable

import structlog
from fastapi import FastAPI, Request, Response
from opentelemetry import propagate, trace

from infra.logs import bind_context, clear_context
from infra.tracing import tracer

log = structlog.get_logger("libshare.http")
_tracer = tracer("libshare.http")


def install(app: FastAPI) -> None:
    @app.middleware("http")
    async def request_context(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        request_id = request.headers.get("x-request-id") or uuid.uuid4().hex
        correlation_id = request.headers.get("x-correlation-id") or request_id
        request.state.request_id = request_id
        clear_context()
        bind_context(request_id=request_id, correlation_id=correlation_id)
        started = time.perf_counter()
        ctx = propagate.extract(dict(request.headers))
        with _tracer.start_as_current_span(
            f"{request.method} {request.url.path}", context=ctx, kind=trace.SpanKind.SERVER
        ):
            response = await call_next(request)
        response.headers["X-Request-ID"] = request_id
        response.headers["X-Correlation-ID"] = correlation_id
        principal = getattr(request.state, "principal", None)
        log.info(
            "request",
            method=request.method,
            path=request.url.path,
            status=response.status_code,
            ms=round((time.perf_counter() - started) * 1000, 1),
            account=principal.account if principal else None,
            library=principal.library if principal else None,
        )
        return response
