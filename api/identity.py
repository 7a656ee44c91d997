"""Who is acting. Until accounts exist (issue 7), a librarian names the library they act
for in the `X-Library` header. This module is the one place that accounts will replace:
endpoints depend on `acting_library` and nothing else."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, HTTPException, Request

from api.deps import system
from infra.network_app import current_actor
from projections.libraries import get_library
from workers.bootstrap import System


@dataclass(frozen=True)
class Acting:
    library: str
    kind: str


def acting_library(
    sys: Annotated[System, Depends(system)],
    x_library: Annotated[
        str | None, Header(description="The library you act for, e.g. HNM-PL")
    ] = None,
) -> Acting:
    if not x_library:
        raise HTTPException(401, "send X-Library: the code of the library you act for")
    with sys.db.transaction() as conn:
        lib = get_library(conn, x_library.strip().upper())
    if lib is None:
        raise HTTPException(401, f"unknown library {x_library!r}")
    return Acting(lib["code"], lib["kind"])


UI_COOKIE = "libshare_library"


def ui_library(request: Request, sys: Annotated[System, Depends(system)]) -> Acting | None:
    """The web UI's counterpart of X-Library: the library chosen on the home page."""
    code = request.cookies.get(UI_COOKIE)
    if not code:
        return None
    with sys.db.transaction() as conn:
        lib = get_library(conn, code)
    return Acting(lib["code"], lib["kind"]) if lib else None


@contextmanager
def recorded_as(acting: Acting) -> Iterator[None]:
    """Commands run inside this block record the acting library in their events."""
    token = current_actor.set({"library": acting.library, "role": "librarian"})
    try:
        yield
    finally:
        current_actor.reset(token)
