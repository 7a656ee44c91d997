"""FastAPI dependencies: the system built by the composition root."""

from __future__ import annotations

from fastapi import Request

from workers.bootstrap import System


def system(request: Request) -> System:
    s: System = request.app.state.system
    return s
