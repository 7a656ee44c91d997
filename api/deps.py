"""FastAPI dependencies: the system built by the composition root."""

from __future__ import annotations

from fastapi import Request

from composition.bootstrap import System


async def system(request: Request) -> System:
    """Async, though it does no I/O: FastAPI then calls it on the event loop instead of
    handing it to a worker thread (a thread switch per request for one attribute)."""
    s: System = request.app.state.system
    return s
