"""Who calls the API in end-to-end tests: accounts opened through the application's
commands, each with an API key (fast: no password hashing per test)."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from composition.bootstrap import System

TEST_ADMIN = {"account": "test-setup", "role": "network_admin"}


def api_key_for(
    system: System,
    username: str,
    role: str,
    *,
    library: str | None = None,
    partner: str | None = None,
) -> str:
    """An API key of an account holding `role` (opened if new; a new key each call)."""
    system.accounts.open_account(
        TEST_ADMIN, username, f"Test {username}", library=library, partner=partner, roles=[role]
    )
    _, key = system.accounts.issue_api_key(TEST_ADMIN, username, "tests")
    return key


def headers_for(client: TestClient, role: str, **scope: Any) -> dict[str, str]:
    """Authorization headers for `role` (and library= or partner=), cached per app."""
    system: System = client.app.state.system  # type: ignore[attr-defined]
    cache: dict[tuple[str, str], dict[str, str]] = system.__dict__.setdefault("_test_callers", {})
    where = str(scope.get("library") or scope.get("partner") or "")
    if (role, where) not in cache:
        username = f"t-{role}-{where}".lower().replace("_", "-").rstrip("-")
        cache[(role, where)] = {
            "Authorization": f"Bearer {api_key_for(system, username, role, **scope)}"
        }
    return cache[(role, where)]


def auditor(client: TestClient) -> dict[str, str]:
    return headers_for(client, "auditor")


def network_admin(client: TestClient) -> dict[str, str]:
    return headers_for(client, "network_admin")
