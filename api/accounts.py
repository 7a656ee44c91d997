"""Signing in and managing accounts. People sign in with a password at /auth/token (the
OAuth2 password flow, so the docs' Authorize button works) and get a short-lived bearer
token; systems and partners use API keys. Network administrators manage every account;
a library administrator manages its own library's staff and their library roles."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query, Request, Response
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel, Field

from api.auth import Authorize, SignedIn
from api.deps import Writes, system
from api.fields import USERNAME, LibraryCode, PartnerCode, line
from api.read_your_writes import MinVersion, RecentWrites, caught_up, version_in
from composition.bootstrap import System
from domain.access import Permission, Principal, decide, may
from domain.account import USERNAME as USERNAME_SHAPE
from domain.account import Role
from domain.errors import InvalidInput, NotFound
from domain.text import LINE_PATTERN
from projections.accounts import account_detail, list_accounts
from services.commands import (
    DisableAccount,
    EnableAccount,
    GrantRole,
    IssueApiKey,
    OpenAccount,
    RevokeApiKey,
    RevokeRole,
    SetPassword,
)
from services.entry import unseen_account

router = APIRouter(tags=["accounts"])
Reader = Annotated[Principal, Depends(Authorize(Permission.ACCOUNTS_READ))]
Manager = Annotated[Principal, Depends(Authorize(Permission.ACCOUNTS_MANAGE))]


class LoginThrottled(Exception):
    def __init__(self, wait: float) -> None:
        self.wait = wait


def sign_in(sys: System, username: str, password: str) -> str:
    """A token for these credentials: 401 if they are wrong, 429 after repeated failures."""
    username = username.strip().lower()
    if not USERNAME_SHAPE.match(username):  # no such account can exist: ask nobody
        raise HTTPException(
            401, "wrong username or password", headers={"WWW-Authenticate": "Bearer"}
        )
    creds = sys.credentials
    window = timedelta(seconds=sys.settings.login_window_seconds)
    failures, wait = creds.recent_failures(username, window)
    if failures >= sys.settings.login_max_failures:
        raise LoginThrottled(wait)
    acc = sys.accounts.sign_in_with_password(username, password)
    if acc is None:
        creds.record_failure(username)
        raise HTTPException(
            401, "wrong username or password", headers={"WWW-Authenticate": "Bearer"}
        )
    creds.clear_failures(username)
    return acc.username


@router.post("/auth/token", summary="Sign in with a password: a short-lived bearer token")
def token(
    form: Annotated[OAuth2PasswordRequestForm, Depends()], sys: Annotated[System, Depends(system)]
) -> dict[str, Any]:
    username = sign_in(sys, form.username, form.password)
    access, ttl = sys.tokens.issue(username)
    return {"access_token": access, "token_type": "bearer", "expires_in": ttl}


class Me(BaseModel):
    username: str
    roles: list[Role]
    library: str | None
    library_kind: str | None
    partner: str | None
    permissions: list[Permission]


class ApiKey(BaseModel):
    key_id: str
    label: str
    revoked: bool


class AccountAnswer(BaseModel):
    """An account as a command left it."""

    username: str
    display_name: str
    library: str | None
    partner: str | None
    roles: list[Role]
    disabled: bool
    api_keys: list[ApiKey]
    version: int = Field(description="The account's version after the command")


@router.get("/me", response_model=Me, summary="Who I am: my account, roles and library")
def me(caller: SignedIn) -> dict[str, Any]:
    return {
        "username": caller.account,
        "roles": sorted(r.value for r in caller.roles),
        "library": caller.library,
        "library_kind": caller.library_kind,
        "partner": caller.partner,
        "permissions": sorted(p.value for p in Permission if _holds(caller, p)),
    }


def _holds(caller: Principal, permission: Permission) -> bool:
    return may(caller, permission, library=caller.library, partner=caller.partner) is not None


class NewAccount(BaseModel):
    username: str = Field(min_length=3, max_length=64, pattern=USERNAME, examples=["thuthu.kb"])
    display_name: str = line(max_length=200, examples=["Nguyễn Thị Lan"])
    library: LibraryCode | None = Field(default=None, examples=["HNM-KB"])
    partner: PartnerCode | None = None
    roles: list[Role] = Field(default=[], max_length=len(Role))
    password: str | None = Field(default=None, min_length=10, max_length=200)


class Grant(BaseModel):
    role: Role


class Reason(BaseModel):
    reason: str = line(max_length=500)


class Password(BaseModel):
    password: str = Field(min_length=10, max_length=200)


class KeyLabel(BaseModel):
    label: str = line(max_length=100, examples=["VNPOST routing system"])


@router.post(
    "/accounts",
    status_code=201,
    response_model=AccountAnswer,
    summary="Open an account (idempotent by username)",
)
def open_account(
    body: NewAccount,
    response: Response,
    sys: Annotated[System, Depends(system)],
    me: Manager,
    writes: Writes,
) -> dict[str, Any]:
    command = OpenAccount(
        body.username,
        body.display_name,
        library=body.library,
        partner=body.partner,
        roles=tuple(r.value for r in body.roles),
        password=body.password,
    )
    found, created = sys.entry.act(me, command)
    if not created:
        response.status_code = 200
    response.headers["Location"] = f"/accounts/{found['username']}"
    return _wrote(writes, me, found)


def _wrote(writes: RecentWrites, me: Principal, answer: dict[str, Any]) -> dict[str, Any]:
    """Remember the account version a command produced, for `me`'s next read of it."""
    writes.wrote(me, f"account:{answer['username']}", answer["version"])
    return answer


@router.get("/accounts", summary="Accounts: all (network admin, auditor) or my library's staff")
def accounts(
    sys: Annotated[System, Depends(system)],
    me: Reader,
    library: Annotated[str | None, Query(max_length=32)] = None,
) -> list[dict[str, Any]]:
    whose = library.strip().upper() if library else None
    if whose is None and may(me, Permission.ACCOUNTS_READ) is None:
        whose = me.library  # a library administrator lists its own staff
    decide(me, Permission.ACCOUNTS_READ, library=whose)
    with sys.db.transaction() as conn:
        return list_accounts(conn, whose)


def _target(sys: System, me: Principal, username: str, permission: Permission) -> str | None:
    """The library of the account `username`, once `me` may read it (404 otherwise, so
    that a library administrator cannot probe other libraries' usernames)."""
    hidden = unseen_account(username)
    try:
        library = sys.accounts.get_account(username).library
    except (NotFound, InvalidInput):
        raise HTTPException(404, hidden) from None
    decide(me, permission, library=library, secret=hidden)
    return library


@router.get("/accounts/{username}", summary="One account with its API keys and its history")
def account(
    username: str,
    sys: Annotated[System, Depends(system)],
    me: Reader,
    writes: Writes,
    min_version: MinVersion = None,
) -> dict[str, Any]:
    _target(sys, me, username, Permission.ACCOUNTS_READ)
    name = username.strip().lower()

    def read() -> dict[str, Any] | None:
        with sys.db.transaction() as conn:
            return account_detail(conn, name)

    found = caught_up(read, version_in, writes.wanted(me, f"account:{name}", min_version))
    if found is None:
        raise HTTPException(404, f"account {username} is not in the read model yet")
    return found


@router.post(
    "/accounts/{username}/roles", response_model=AccountAnswer, summary="Grant a role (idempotent)"
)
def grant(
    username: str,
    body: Grant,
    sys: Annotated[System, Depends(system)],
    me: Manager,
    writes: Writes,
) -> dict[str, Any]:
    return _wrote(writes, me, sys.entry.act(me, GrantRole(username, body.role)))


@router.delete(
    "/accounts/{username}/roles/{role}",
    response_model=AccountAnswer,
    summary="Revoke a role (idempotent)",
)
def revoke(
    username: str,
    role: Role,
    sys: Annotated[System, Depends(system)],
    me: Manager,
    writes: Writes,
    reason: Annotated[str, Query(min_length=1, max_length=500, pattern=LINE_PATTERN)] = "revoked",
) -> dict[str, Any]:
    return _wrote(writes, me, sys.entry.act(me, RevokeRole(username, role, reason)))


@router.post(
    "/accounts/{username}/disable",
    response_model=AccountAnswer,
    summary="Disable: every credential stops working",
)
def disable(
    username: str,
    body: Reason,
    sys: Annotated[System, Depends(system)],
    me: Manager,
    writes: Writes,
) -> dict[str, Any]:
    return _wrote(writes, me, sys.entry.act(me, DisableAccount(username, body.reason)))


@router.post(
    "/accounts/{username}/enable", response_model=AccountAnswer, summary="Enable a disabled account"
)
def enable(
    username: str, sys: Annotated[System, Depends(system)], me: Manager, writes: Writes
) -> dict[str, Any]:
    return _wrote(writes, me, sys.entry.act(me, EnableAccount(username)))


@router.put(
    "/accounts/{username}/password",
    response_model=AccountAnswer,
    summary="Set an account's password",
)
def set_password(
    username: str,
    body: Password,
    sys: Annotated[System, Depends(system)],
    me: Manager,
    writes: Writes,
) -> dict[str, Any]:
    return _wrote(writes, me, sys.entry.act(me, SetPassword(username, body.password)))


@router.post(
    "/accounts/{username}/api-keys",
    status_code=201,
    summary="Issue an API key for a system or partner: shown only in this answer",
)
def issue_key(
    username: str,
    body: KeyLabel,
    sys: Annotated[System, Depends(system)],
    me: Manager,
    writes: Writes,
) -> dict[str, Any]:
    key_id, key = sys.entry.act(me, IssueApiKey(username, body.label))
    acc = sys.accounts.get_account(username)
    writes.wrote(me, f"account:{acc.username}", acc.version)
    return {"key_id": key_id, "api_key": key, "version": acc.version}


@router.delete(
    "/accounts/{username}/api-keys/{key_id}",
    response_model=AccountAnswer,
    summary="Revoke an API key",
)
def revoke_key(
    username: str,
    key_id: str,
    sys: Annotated[System, Depends(system)],
    me: Manager,
    writes: Writes,
) -> dict[str, Any]:
    return _wrote(writes, me, sys.entry.act(me, RevokeApiKey(username, key_id)))


def install(app: FastAPI) -> None:
    from api.problems import problem

    @app.exception_handler(LoginThrottled)
    async def _throttled(request: Request, exc: LoginThrottled) -> Any:
        response = problem(
            "login-throttled", "Too many failed sign-ins; wait and try again.", request=request
        )
        response.headers["Retry-After"] = str(max(1, int(exc.wait) + 1))
        return response
