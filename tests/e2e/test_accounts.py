"""Signing in and the life of credentials: tokens expire, revoked keys and disabled
accounts stop at once, repeated failed sign-ins wait, and grants are on the record."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from composition.bootstrap import System
from tests.actors import TESTER
from tests.e2e.callers import Network, api_key_for, network_admin
from tests.integration.support import eventually

PASSWORD = "mat-khau-thu-thu-1"


@pytest.fixture
def api(serve_network: Callable[..., Network]) -> Network:
    return serve_network(token_ttl_seconds=30, login_max_failures=3, login_window_seconds=60)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def sign_in(client: TestClient, username: str, password: str = PASSWORD) -> Any:
    return client.post("/auth/token", data={"username": username, "password": password})


def open_librarian(client: TestClient, username: str = "lan.kb") -> None:
    r = client.post(
        "/accounts",
        json={
            "username": username,
            "display_name": "Nguyễn Thị Lan",
            "library": "HNM-KB",
            "roles": ["librarian"],
            "password": PASSWORD,
        },
        headers=network_admin(client),
    )
    assert r.status_code == 201, r.text


def test_a_librarian_signs_in_and_acts_for_her_library_only(
    api: tuple[TestClient, System],
) -> None:
    client, _ = api
    open_librarian(client)
    r = sign_in(client, "lan.kb")
    assert r.status_code == 200 and r.json()["token_type"] == "bearer"
    assert r.json()["expires_in"] == 30
    me = client.get("/me", headers=bearer(r.json()["access_token"])).json()
    assert (me["username"], me["library"], me["roles"]) == ("lan.kb", "HNM-KB", ["librarian"])
    assert "requests.create" in me["permissions"] and "statistics.read" not in me["permissions"]


def test_an_expired_token_is_refused(api: tuple[TestClient, System]) -> None:
    client, system = api
    open_librarian(client)
    token, _ = system.tokens.issue("lan.kb", ttl_seconds=1)
    assert client.get("/me", headers=bearer(token)).status_code == 200
    time.sleep(2.1)
    r = client.get("/me", headers=bearer(token))
    assert r.status_code == 401 and r.json()["type"] == "/problems/unauthenticated"
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    assert client.get("/me", headers=bearer(forged)).status_code == 401


def test_a_revoked_api_key_stops_working_at_once(api: tuple[TestClient, System]) -> None:
    client, system = api
    key = api_key_for(system, "routing.vnpost", "postal_partner", partner="VNPOST")
    other = api_key_for(system, "routing.vnpost", "postal_partner", partner="VNPOST")
    assert client.get("/partners/VNPOST/pickups", headers=bearer(key)).status_code == 200
    key_id = key.split("_")[1]
    r = client.delete(f"/accounts/routing.vnpost/api-keys/{key_id}", headers=network_admin(client))
    assert r.status_code == 200
    assert client.get("/partners/VNPOST/pickups", headers=bearer(key)).status_code == 401
    assert client.get("/partners/VNPOST/pickups", headers=bearer(other)).status_code == 200

    # The key is shown once; the account shows only its id and label, never the secret.
    def detail() -> str:
        return client.get("/accounts/routing.vnpost", headers=network_admin(client)).text

    eventually(lambda: '"revoked":true' in detail(), what="the revocation in the read model")
    assert key_id in detail() and key.split("_", 2)[2] not in detail()


def test_a_disabled_account_is_refused_whatever_it_presents(
    api: tuple[TestClient, System],
) -> None:
    client, system = api
    open_librarian(client)
    token = sign_in(client, "lan.kb").json()["access_token"]
    key = system.accounts.issue_api_key(TESTER, "lan.kb", "scanner")[1]
    admin = network_admin(client)
    assert client.get("/me", headers=bearer(key)).status_code == 200  # known, and cached
    assert client.post(
        "/accounts/lan.kb/disable", json={"reason": "left"}, headers=admin
    ).is_success
    assert client.get("/me", headers=bearer(token)).status_code == 401
    assert client.get("/me", headers=bearer(key)).status_code == 401
    assert sign_in(client, "lan.kb").status_code == 401
    assert client.post("/accounts/lan.kb/enable", headers=admin).is_success
    assert client.get("/me", headers=bearer(token)).status_code == 200


def test_repeated_failed_sign_ins_are_throttled(api: tuple[TestClient, System]) -> None:
    client, _ = api
    open_librarian(client)
    codes = [sign_in(client, "lan.kb", "wrong-password").status_code for _ in range(3)]
    assert codes == [401, 401, 401]
    r = sign_in(client, "lan.kb")  # even the right password waits now
    assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1
    assert r.json()["type"] == "/problems/login-throttled"
    # Another account is not held up by this one's failures.
    open_librarian(client, "minh.kb")
    assert sign_in(client, "minh.kb").status_code == 200


def test_grants_and_revocations_are_on_the_record_with_who_did_them(
    api: tuple[TestClient, System],
) -> None:
    client, system = api
    open_librarian(client)
    admin_key = api_key_for(system, "admin.tvt", "library_admin", library="HNM-TVT")
    kb_admin = api_key_for(system, "admin.kb", "library_admin", library="HNM-KB")
    # Another library's administrator cannot even see the account.
    r = client.post(
        "/accounts/lan.kb/roles", json={"role": "library_admin"}, headers=bearer(admin_key)
    )
    assert r.status_code == 404
    # Her own library's administrator grants library roles, never network ones.
    r = client.post(
        "/accounts/lan.kb/roles", json={"role": "network_admin"}, headers=bearer(kb_admin)
    )
    assert r.status_code == 403 and r.json()["type"] == "/problems/forbidden"
    r = client.post(
        "/accounts/lan.kb/roles", json={"role": "library_admin"}, headers=bearer(kb_admin)
    )
    assert r.status_code == 200 and r.json()["roles"] == ["librarian", "library_admin"]
    r = client.delete(
        "/accounts/lan.kb/roles/library_admin?reason=temporary", headers=bearer(kb_admin)
    )
    assert r.status_code == 200 and r.json()["roles"] == ["librarian"]

    def history() -> list[dict[str, object]]:
        found = client.get("/accounts/lan.kb", headers=network_admin(client))
        return list(found.json()["history"]) if found.status_code == 200 else []

    eventually(lambda: len(history()) == 5, what="the account's history")
    opened, first_role, _password, granted, revoked = history()
    assert first_role["data"] == {"role": "librarian"}
    assert opened["event"] == "Opened" and opened["actor"]["role"] == "network_admin"
    assert granted["event"] == "RoleGranted" and granted["actor"] == {
        "account": "admin.kb",
        "role": "library_admin",
        "library": "HNM-KB",
    }
    assert revoked["data"] == {"role": "library_admin", "reason": "temporary"}


def test_an_auditor_reads_everything_and_changes_nothing(api: tuple[TestClient, System]) -> None:
    client, system = api
    auditor = bearer(api_key_for(system, "kiemtoan", "auditor"))
    assert client.get("/statistics/monthly", headers=auditor).status_code == 200
    assert client.get("/requests?library=HNM-DT", headers=auditor).status_code == 200
    eventually(  # auditors see every work, scoped ones too
        lambda: client.get("/catalogue/works/W-QS-TAILIEU", headers=auditor).status_code == 200,
        what="the restricted work, for the auditor",
    )
    for method, url, body in (
        ("POST", "/requests", {"work": "W-KIEU", "reader_ref": "x"}),
        ("POST", "/libraries", {"code": "HNM-X", "name": "X", "kind": "school", "locality": "X"}),
        ("PUT", "/libraries/HNM-KB/policy", {}),
        ("POST", "/projections/requests/parked/replay", None),
    ):
        r = client.request(method, url, json=body, headers=auditor)
        assert r.status_code == 403, (url, r.status_code)
    # No auditor can be given a role that changes things.
    r = client.post(
        "/accounts/kiemtoan/roles", json={"role": "department"}, headers=network_admin(client)
    )
    assert r.status_code == 200
    r = client.post(
        "/accounts/kiemtoan/roles", json={"role": "network_admin"}, headers=network_admin(client)
    )
    assert r.status_code == 422 and "auditor" in r.json()["detail"]


def test_the_operator_opens_the_first_network_admin_from_the_cli(
    make_system: Callable[..., System], database_url: str
) -> None:
    from typer.testing import CliRunner

    from api.cli import cli

    system = make_system()
    env = {"DATABASE_URL": database_url, "LIBSHARE_LOG_LEVEL": "WARNING"}
    args = ["accounts", "open", "quantri", "--name", "Quản trị", "--role", "network_admin"]
    typed = f"{PASSWORD}\n{PASSWORD}\n"
    opened = CliRunner().invoke(cli, [*args, "--password"], input=typed, env=env)
    assert opened.exit_code == 0, opened.output
    assert "opened: quantri ['network_admin']" in opened.output
    assert PASSWORD not in opened.output  # typed without echo
    again = CliRunner().invoke(cli, args, env=env)
    assert again.exit_code == 0 and "exists: quantri" in again.output
    keyed = CliRunner().invoke(cli, ["accounts", "api-key", "quantri", "--label", "ops"], env=env)
    assert keyed.exit_code == 0 and ": lsk_k-" in keyed.output
    with TestClient(create_app(system=system)) as client:
        r = sign_in(client, "quantri")
        assert r.status_code == 200
        key = keyed.output.strip().split(": ", 1)[1]
        assert client.get("/me", headers=bearer(key)).json()["roles"] == ["network_admin"]
