"""Endpoints for the network's libraries: list and one (read model, as they are or as of
a day), register, and reorganise: rename, re-code, re-parent, merge (ADR 0021)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Response
from pydantic import BaseModel, Field

from api.auth import Authorize
from api.deps import Writes, system
from api.fields import LIBRARY_CODE, line
from api.read_your_writes import EVERYONE, MinVersion, caught_up
from composition.bootstrap import System
from domain.access import Permission, Principal
from domain.catalogue import ItemKind
from domain.legal_act import LegalAct
from domain.lending_policy import LendingPolicy
from domain.library import LibraryKind
from projections.libraries import get_library, library_as_of, list_libraries, registry_as_of
from services import commands

router = APIRouter(prefix="/libraries", tags=["libraries"])
NetworkAdmin = Annotated[Principal, Depends(Authorize(Permission.LIBRARIES_MANAGE))]
Reorganiser = Annotated[Principal, Depends(Authorize(Permission.LIBRARIES_REORGANISE))]
LibraryAdmin = Annotated[Principal, Depends(Authorize(Permission.POLICY_SET))]
AsOf = Annotated[
    date | None,
    Query(description="YYYY-MM-DD: the registry as it was that day, by effective dates"),
]


class Period(BaseModel):
    valid_from: date | None = Field(description="None: since the library was registered")
    valid_to: date | None = Field(description="The day it changed (exclusive); None: still so")
    state: dict[str, Any]
    acts: list[dict[str, Any]]


class LibraryOut(BaseModel):
    code: str = Field(examples=["HNM-TVT"])
    name: str = Field(examples=["Thư viện tỉnh Hà Nam"])
    kind: LibraryKind
    locality: str = Field(examples=["Phủ Lý"])
    registered_at: datetime | None = Field(None, description="Only without as_of")
    # With as_of (ADR 0021): its place in the network and status on that day, and since
    # when until when it was so; one library's answer also has its whole history.
    parent: str | None = None
    province: str | None = None
    status: str | None = Field(None, examples=["active", "merged"])
    merged_into: str | None = None
    valid_from: date | None = None
    valid_to: date | None = None
    history: list[Period] | None = None


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


class Act(BaseModel):
    """The legal act behind a change: its kind and number, the day it was made, and the
    day the change takes effect (past or future)."""

    act: str = line(max_length=200, examples=["Nghị quyết 202/2025/QH15"])
    act_date: date = Field(examples=["2025-06-12"])
    effective: date = Field(examples=["2025-07-01"])

    def legal(self) -> LegalAct:
        return LegalAct(self.act, self.act_date, self.effective)


class RenameLibrary(BaseModel):
    name: str = line(max_length=200)
    reason: str = line(max_length=500, examples=["Sáp nhập tỉnh 2025"])
    act: Act


class RecodeLibrary(BaseModel):
    code: str = Field(
        min_length=1,
        max_length=32,
        examples=["NBH-PL"],
        json_schema_extra={"pattern": LIBRARY_CODE},
    )
    act: Act


class ReparentLibrary(BaseModel):
    parent: str | None = Field(None, max_length=32, examples=["NBH-TVT"])
    province: str | None = line(max_length=100, default=None, examples=["Ninh Bình"])
    act: Act


class MergeLibrary(BaseModel):
    into: str = Field(min_length=1, max_length=32, examples=["HNM-PL"])
    reason: str = line(max_length=500, examples=["Sắp xếp đơn vị hành chính 2025"])
    act: Act


class Reorganised(BaseModel):
    code: str
    id: str
    name: str
    codes: list[str]
    parent: str | None
    province: str | None
    merged_into: str | None
    merge_effective: date | None
    moved: dict[str, int] = Field(description="What moved to the library merged into")
    version: int = Field(description="The library's version after the command")


class Registered(BaseModel):
    code: str
    id: str
    created: bool
    version: int = Field(description="The library's version after the command")


@router.get(
    "",
    response_model=list[LibraryOut],
    response_model_exclude_none=True,
    summary="The network's member libraries (as of a day, with as_of)",
)
def libraries(
    sys: Annotated[System, Depends(system)],
    kind: Annotated[LibraryKind | None, Query()] = None,
    locality: Annotated[str | None, Query(max_length=100)] = None,
    as_of: AsOf = None,
) -> list[dict[str, object]]:
    with sys.db.transaction() as conn:
        if as_of is None:
            return list_libraries(conn, kind=kind.value if kind else None, locality=locality)
        found = registry_as_of(conn, as_of, kind=kind.value if kind else None)
    return [lib for lib in found if locality is None or lib["locality"] == locality]


@router.get(
    "/{code}",
    response_model=LibraryOut,
    response_model_exclude_none=True,
    summary="One library, by any code it has had (as of a day, with its history, with as_of)",
)
def library(
    code: str,
    sys: Annotated[System, Depends(system)],
    writes: Writes,
    min_version: MinVersion = None,
    as_of: AsOf = None,
) -> dict[str, object]:
    code = code.strip().upper()
    if as_of is not None:
        with sys.db.transaction() as conn:
            then = library_as_of(conn, code, as_of)
        if then is None:
            raise HTTPException(404, f"library {code} is not in the registry on {as_of}")
        return then

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


@router.post("/{code}/rename", response_model=Reorganised, summary="Rename a library by an act")
def rename(
    code: str, body: RenameLibrary, sys: Annotated[System, Depends(system)], me: Reorganiser
) -> dict[str, Any]:
    return sys.entry.act(me, commands.RenameLibrary(code, body.name, body.reason, body.act.legal()))


@router.post("/{code}/recode", response_model=Reorganised, summary="Give a library a new code")
def recode(
    code: str, body: RecodeLibrary, sys: Annotated[System, Depends(system)], me: Reorganiser
) -> dict[str, Any]:
    return sys.entry.act(me, commands.RecodeLibrary(code, body.code, body.act.legal()))


@router.post(
    "/{code}/reparent",
    response_model=Reorganised,
    summary="Put a library under another and/or in a province",
)
def reparent(
    code: str, body: ReparentLibrary, sys: Annotated[System, Depends(system)], me: Reorganiser
) -> dict[str, Any]:
    command = commands.ReparentLibrary(code, body.parent, body.province, body.act.legal())
    return sys.entry.act(me, command)


@router.post(
    "/{code}/merge",
    response_model=Reorganised,
    summary="Merge a library into another (idempotent; repeat after a future effective day)",
)
def merge(
    code: str, body: MergeLibrary, sys: Annotated[System, Depends(system)], me: Reorganiser
) -> dict[str, Any]:
    command = commands.MergeLibrary(code, body.into, body.reason, body.act.legal())
    return sys.entry.act(me, command)


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
