"""Who calls the API in end-to-end tests: accounts opened through the application's
commands, each with an API key (fast: no password hashing per test), and a librarian of
one library calling it."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from composition.bootstrap import System
from tests.integration.support import eventually

# What the `network` fixture (tests/e2e/conftest.py) gives: the client and the system served.
Network = tuple[TestClient, System]

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
    state = client.app.state  # type: ignore[attr-defined]
    system: System = state.system
    if not hasattr(state, "test_callers"):  # app.state holds what its owner puts there
        state.test_callers = {}
    cache: dict[tuple[str, str], dict[str, str]] = state.test_callers
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


class Librarian:
    """A librarian of one library, calling the API with its account's key."""

    def __init__(self, client: TestClient, library: str) -> None:
        self.client, self.library = client, library
        self.headers = headers_for(client, "librarian", library=library)

    def get(self, path: str, **kw: Any) -> Any:
        return self.client.get(path, headers=self.headers, **kw)

    def post(self, path: str, body: dict[str, Any]) -> Any:
        return self.client.post(path, json=body, headers=self.headers)

    def request(self, work: str, **kw: Any) -> dict[str, Any]:
        r = self.post("/requests", {"work": work, "reader_ref": "BD-0042", **kw})
        assert r.status_code in (200, 201), r.text
        return dict(r.json())

    def act(self, request_id: str, action: str, **kw: Any) -> Any:
        return self.post(f"/requests/{request_id}/actions", {"action": action, **kw})

    def ok(self, request_id: str, action: str, **kw: Any) -> dict[str, Any]:
        r = self.act(request_id, action, **kw)
        assert r.status_code == 200, r.text
        return dict(r.json())

    def lend(self, request_id: str, work: str, **kw: Any) -> dict[str, Any]:
        """ISO Loaned with the first of this library's numbered copies of `work` that is
        on its shelf (the demo's copies: services/copies.py numbered_barcode)."""
        for n in range(1, 21):
            r = self.act(request_id, "Loaned", item_id=f"{self.library}-{work}-{n}", **kw)
            if r.status_code == 200:
                return dict(r.json())
            if "not on a shelf" not in r.text:
                break
        raise AssertionError(f"{self.library} lent no copy of {work}: {r.text}")


def seen(lib: Librarian, request_id: str, status: str) -> dict[str, Any]:
    """Wait until the read model shows the request in `status`; return its detail."""
    holder: dict[str, Any] = {}

    def check() -> bool:
        r = lib.get(f"/requests/{request_id}")
        holder.update(r.json() if r.status_code == 200 else {})
        return r.status_code == 200 and holder.get("status") == status

    eventually(check, what=f"request {request_id} to show {status}")
    return holder
