"""Per-request context: request id and correlation id (from headers or new), bound to the
logs, echoed in responses, and a server span around the request. A plain ASGI middleware
(not BaseHTTPMiddleware, which runs the rest of the app in a task of its own)."""

from __future__ import annotations

import time
import uuid
from typing import Any

import structlog
from fastapi import FastAPI
from opentelemetry import propagate, trace
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from infra.causation import caused_by
from infra.logs import bind_context, clear_context
from infra.tracing import tracer

log = structlog.get_logger("libshare.http")
_tracer = tracer("libshare.http")


class RequestContext:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        request_id = headers.get("x-request-id") or uuid.uuid4().hex
        correlation_id = headers.get("x-correlation-id") or request_id
        state: dict[str, Any] = scope.setdefault("state", {})
        state["request_id"] = request_id
        clear_context()
        bind_context(request_id=request_id, correlation_id=correlation_id)
        started = time.perf_counter()
        status = 500

        async def send_with_ids(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                out = MutableHeaders(scope=message)
                out["X-Request-ID"] = request_id
                out["X-Correlation-ID"] = correlation_id
            await send(message)

        ctx = propagate.extract(dict(headers))
        path = scope["path"]
        with (
            _tracer.start_as_current_span(
                f"{scope['method']} {path}", context=ctx, kind=trace.SpanKind.SERVER
            ),
            caused_by(f"http:{request_id}", correlation_id),
        ):
            await self.app(scope, receive, send_with_ids)
        principal = state.get("principal")
        log.info(
            "request",
            method=scope["method"],
            path=path,
            status=status,
            ms=round((time.perf_counter() - started) * 1000, 1),
            account=principal.account if principal else None,
            library=principal.library if principal else None,
        )


def install(app: FastAPI) -> None:
    app.add_middleware(RequestContext)
