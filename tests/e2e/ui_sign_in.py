"""Signing in to the web UI as a person of any role does: an account with a password,
opened through the application's commands, and the sign-in form posted with the CSRF
token its page carries."""

from __future__ import annotations

from fastapi.testclient import TestClient

from composition.bootstrap import System
from tests.e2e.callers import TEST_ADMIN
from tests.e2e.test_web_ui import post

PASSWORD = "mat-khau-bo-phan"


def sign_in_as(
    client: TestClient,
    username: str,
    role: str,
    library: str | None = None,
    partner: str | None = None,
) -> None:
    system: System = client.app.state.system  # type: ignore[attr-defined]
    system.accounts.open_account(
        TEST_ADMIN,
        username,
        username,
        library=library,
        partner=partner,
        roles=[role],
        password=PASSWORD,
    )
    client.cookies.clear()
    r = post(
        client,
        "/ui/login",
        data={"username": username, "password": PASSWORD},
        follow_redirects=False,
    )
    assert r.status_code == 303 and "error=" not in r.headers["location"], r.headers
