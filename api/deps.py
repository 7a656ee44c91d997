"""FastAPI dependencies: the system built by the composition root."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from api.read_your_writes import RecentWrites
from composition.bootstrap import System


async def system(request: Request) -> System:
    """Async, though it does no I/O: FastAPI then calls it on the event loop instead of
    handing it to a worker thread (a thread switch per request for one attribute)."""
    s: System = request.app.state.system
    return s


async def recent_writes(request: Request) -> RecentWrites:
    """The versions this process's callers wrote lately (api/read_your_writes.py)."""
    w: RecentWrites = request.app.state.recent_writes
    return w


Writes = Annotated[RecentWrites, Depends(recent_writes)]
