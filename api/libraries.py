"""Endpoints for the network's libraries: list (read model), one, register (command)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Response
from pydantic import BaseModel, Field

from api.auth import Authorize
from api.deps import Writes, system
from api.fields import LIBRARY_CODE, line
from api.read_your_writes import EVERYONE, MinVersion, caught_up
from composition.bootstrap import System
from domain.access import Permission, Principal
from domain.catalogue import ItemKind
from domain.lending_policy import LendingPolicy
from domain.library import LibraryKind
from projections.libraries import get_library, list_libraries
from services import commands

router = APIRouter(prefix="/libraries", tags=["libraries"])
NetworkAdmin = Annotated[Principal, Depends(Authorize(Permission.LIBRARIES_MANAGE))]
LibraryAdmin = Annotated[Principal, Depends(Authorize(Permission.POLICY_SET))]


class LibraryOut(BaseModel):
    code: str = Field(examples=["HNM-TVT"])
    name: str = Field(examples=["Thư viện tỉnh Hà Nam"])
    kind: LibraryKind
    locality: str = Field(examples=["Phủ Lý"])
    registered_at: datetime


class RegisterLibrary(BaseModel):
    # The pattern is the domain's to enforce (invalid-input, with what a code looks like).
    code: str = Field(
        min_length=1,
        max_length=32,
        examples=["HNM-S-NEW"],
        json_schema_extra={"pattern": LIBRARY_CODE},
    )
    name: str = line(max_length=200)
    kind: LibraryKind
    locality: str = line(max_length=100)


class RenameLibrary(BaseModel):
    name: str = line(max_length=200)
    reason: str = line(max_length=500, examples=["Sáp nhập tỉnh 2025"])


class Registered(BaseModel):
    code: str
    id: str
    created: bool
    version: int = Field(description="The library's version after the command")


@router.get("", response_model=list[LibraryOut], summary="The network's member libraries")
def libraries(
    sys: Annotated[System, Depends(system)],
    kind: Annotated[LibraryKind | None, Query()] = None,
    locality: Annotated[str | None, Query(max_length=100)] = None,
) -> list[dict[str, object]]:
    with sys.db.transaction() as conn:
        return list_libraries(conn, kind=kind.value if kind else None, locality=locality)


@router.get("/{code}", response_model=LibraryOut, summary="One library")
def library(
    code: str,
    sys: Annotated[System, Depends(system)],
    writes: Writes,
    min_version: MinVersion = None,
) -> dict[str, object]:
    code = code.strip().upper()

    def read() -> dict[str, object] | None:
        with sys.db.transaction() as conn:
            return get_library(conn, code)

    # The read model keeps no version of a library: a read waits only for it to be there,
    # and only if the write side has it (anyone may ask: a wait for a library that does
    # not exist would tie up a thread for nothing).
    wanted = writes.wanted(EVERYONE, f"library:{code}", min_version)
    if wanted and not sys.catalogue.exists(code):
        wanted = 0
    found = caught_up(read, lambda _: wanted, wanted)
    if found is None:
        raise HTTPException(404, f"library {code} is not in the read model")
    return found


@router.post(
    "",
    response_model=Registered,
    status_code=201,
    summary="Register a library (idempotent by code)",
    responses={200: {"description": "Already registered with the same data"}},
)
def register(
    body: RegisterLibrary,
    response: Response,
    sys: Annotated[System, Depends(system)],
    me: NetworkAdmin,
    writes: Writes,
) -> Registered:
    command = commands.RegisterLibrary(body.code, body.name, body.kind.value, body.locality)
    lib, created = sys.entry.act(me, command)
    if not created:
        response.status_code = 200
    response.headers["Location"] = f"/libraries/{lib.code}"
    # Whether a library exists is no secret: any reader waits for a new one to show.
    writes.wrote(EVERYONE, f"library:{lib.code}", lib.version)
    return Registered(code=lib.code, id=str(lib.id), created=created, version=lib.version)


@router.post("/{code}/rename", response_model=Registered, summary="Rename a library")
def rename(
    code: str, body: RenameLibrary, sys: Annotated[System, Depends(system)], me: NetworkAdmin
) -> Registered:
    lib = sys.entry.act(me, commands.RenameLibrary(code, body.name, body.reason))
    return Registered(code=lib.code, id=str(lib.id), created=False, version=lib.version)


class PolicyIn(BaseModel):
    loan_days: int = Field(28, ge=1, le=180)
    renewals_allowed: int = Field(1, ge=0, le=10)
    renewal_days: int = Field(14, ge=1, le=90)
    max_active_loans: int = Field(20, ge=0, le=10_000)
    lends_kinds: list[ItemKind] = Field(default=[ItemKind.BOOK, ItemKind.LOCAL_STUDIES])
    answer_timeout_hours: int = Field(48, ge=1, le=720)


@router.put("/{code}/policy", summary="Set a library's lending policy")
def set_policy(
    code: str,
    body: PolicyIn,
    sys: Annotated[System, Depends(system)],
    me: LibraryAdmin,
) -> dict[str, object]:
    policy = LendingPolicy(
        body.loan_days,
        body.renewals_allowed,
        body.renewal_days,
        body.max_active_loans,
        tuple(k.value for k in body.lends_kinds),
        body.answer_timeout_hours,
    )
    lib = sys.entry.act(me, commands.SetPolicy(code, policy))
    return {**lib.policy.as_dict(), "version": lib.version}
