"""Who is calling. Bearer credentials (a short-lived token from /auth/token, or a long-
lived API key `lsk_...`) or the web UI's session cookie are turned into a Principal from
the account's current state in the event store, so a revoked role, key or a disabled
account takes effect at once. Endpoints depend on `Authorize(permission)`, which refuses
callers who hold that permission on no resource at all; the resource-level decision is
the policy's (domain/access.py), called with the resource's library or partner."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import OAuth2PasswordBearer

from api.deps import system
from composition.bootstrap import System
from domain.access import Forbidden, Permission, Principal, holds_any
from domain.account import Account
from domain.errors import NotFound

UI_COOKIE = "libshare_session"

bearer = OAuth2PasswordBearer(
    tokenUrl="/auth/token",
    auto_error=False,
    description="A token from /auth/token (people), or an API key `lsk_...` (systems).",
)


class Unauthenticated(HTTPException):
    def __init__(self, detail: str) -> None:
        super().__init__(401, detail, headers={"WWW-Authenticate": "Bearer"})


def principal_of(sys: System, acc: Account) -> Principal:
    kind = None
    if acc.library:
        try:
            kind = sys.catalogue.current_library(acc.library).kind.value
        except NotFound:
            kind = None
    return Principal(
        account=acc.username,
        roles=frozenset(acc.roles),
        library=acc.library,
        library_kind=kind,
        partner=acc.partner,
    )


def account_for(sys: System, credential: str) -> Account | None:
    """The enabled account a bearer credential (token or API key) proves, else None."""
    if credential.startswith("lsk_"):
        return sys.accounts.sign_in_with_key(credential)
    username = sys.tokens.subject(credential)
    if username is None:
        return None
    try:
        acc = sys.accounts.current_account(username)
    except NotFound:
        return None
    return None if acc.disabled else acc


def authenticate(sys: System, credential: str | None) -> Principal:
    if not credential:
        raise Unauthenticated("sign in: send Authorization: Bearer <token or API key>")
    acc = account_for(sys, credential)
    if acc is None:
        raise Unauthenticated("the token or API key is invalid, expired or revoked")
    return principal_of(sys, acc)


def ui_principal(request: Request, sys: Annotated[System, Depends(system)]) -> Principal | None:
    """The web UI's signed-in account (from its session cookie), or None."""
    token = request.cookies.get(UI_COOKIE)
    acc = account_for(sys, token) if token else None
    return principal_of(sys, acc) if acc else None


class Authorize:
    """A dependency that authenticates the caller and checks that it holds `permission`
    on some resource. The authorisation-matrix test reads `permission` off each route."""

    def __init__(self, permission: Permission | None) -> None:
        self.permission = permission

    def __call__(
        self,
        request: Request,
        sys: Annotated[System, Depends(system)],
        credential: Annotated[str | None, Depends(bearer)],
    ) -> Principal:
        principal = authenticate(sys, credential)
        request.state.principal = principal  # for the request's log line
        if self.permission is not None and not holds_any(principal, self.permission):
            raise Forbidden(f"your account may not {self.permission.value.replace('.', ': ')}")
        return principal


SignedIn = Annotated[Principal, Depends(Authorize(None))]
