"""The network as of an instant (issue 15, item 5): what the union catalogue, a library's
queue and the month's statistics served at an instant — snapshotted then — is what the
as-of views answer for that instant after the network has moved on; an aggregate at a
version or an instant is the aggregate as it stood."""

from __future__ import annotations

import json
import time
from typing import Any

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api.cli import cli
from infra.clock import utc_now
from tests.e2e.callers import Librarian, Network, auditor, seen
from tests.integration.support import eventually


def caught_up(client: TestClient) -> None:
    me = auditor(client)
    eventually(
        lambda: all(p["lag"] == 0 for p in client.get("/projections", headers=me).json().values()),
        what="the read models",
    )


def served(client: TestClient) -> dict[str, Any]:
    me = auditor(client)
    return {
        "works": client.get("/catalogue/works", params={"q": "Truyện"}, headers=me).json(),
        "queue": client.get(
            "/requests", params={"library": "HNM-BL", "role": "requester"}, headers=me
        ).json(),
        "statistics": client.get("/statistics/monthly", headers=me).json(),
    }


def as_of(client: TestClient, instant: str) -> dict[str, Any]:
    me, at = auditor(client), {"as_of": instant}
    return {
        "works": client.get(
            "/audit/as-of/catalogue/works", params={**at, "q": "Truyện"}, headers=me
        ).json(),
        "queue": client.get(
            "/audit/as-of/requests",
            params={**at, "library": "HNM-BL", "role": "requester"},
            headers=me,
        ).json(),
        "statistics": client.get("/audit/as-of/statistics/monthly", params=at, headers=me).json(),
    }


def test_an_as_of_view_is_what_was_served_at_that_instant(
    network: Network, database_url: str
) -> None:
    client, _ = network
    requester = Librarian(client, "HNM-BL")
    first = requester.request("W-TATDEN")["id"]
    caught_up(client)
    then = served(client)
    instant = utc_now().isoformat()
    time.sleep(0.05)
    # The network moves on: the request is cancelled, another one is made.
    requester.ok(first, "Cancel", reason="bạn đọc đã mua sách")
    Librarian(client, "HNM-KB").ok(first, "CancelResponse", answer="Y")
    seen(requester, first, "Cancelled")
    requester.request("W-KIEU")
    caught_up(client)
    now = served(client)
    assert now["queue"] != then["queue"] and now["statistics"] != then["statistics"]

    assert as_of(client, instant) == then
    # And again (the view of a recent instant is rebuilt, not stale).
    assert as_of(client, instant) == then

    # The command line answers the same.
    env = {"DATABASE_URL": database_url, "LIBSHARE_LOG_LEVEL": "WARNING"}
    args = ["audit", "as-of", "requests", "--as-of", instant, "--library", "HNM-BL"]
    shown = CliRunner().invoke(cli, args, env=env)
    assert shown.exit_code == 0, shown.output
    listed = [(r["id"], r["status"]) for r in json.loads(shown.output)]
    assert listed == [(r["id"], r["status"]) for r in then["queue"]]

    me = auditor(client)
    at_one = client.get(f"/audit/as-of/aggregates/{first}", params={"version": 1}, headers=me)
    assert at_one.status_code == 200, at_one.text
    assert at_one.json()["version"] == 1 and at_one.json()["type"] == "IllRequest"
    at_then = client.get(
        f"/audit/as-of/aggregates/{first}", params={"as_of": instant}, headers=me
    ).json()
    latest = client.get(f"/requests/{first}", headers=me).json()
    assert at_then["version"] < latest["version"]
    assert at_then["state"]["status"] != latest["status"] == "Cancelled"

    future = client.get(
        "/audit/as-of/catalogue/works", params={"as_of": "2999-01-01T00:00Z"}, headers=me
    )
    assert future.status_code == 422 and future.json()["type"] == "/problems/invalid-input"
    both = client.get(
        f"/audit/as-of/aggregates/{first}", params={"as_of": instant, "version": 1}, headers=me
    )
    assert both.status_code == 422
