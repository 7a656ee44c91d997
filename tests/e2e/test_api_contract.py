"""The API contract, fuzzed: schemathesis generates requests from the OpenAPI document for
every operation, as each demo account (one per role) and as nobody, and the answers must
be what the document says: no 5xx, only documented statuses and content types, bodies
that match their schemas, and a 4xx for every request the schema calls invalid.

Bounded by examples per operation (FUZZ_EXAMPLES), not by a timer."""

from __future__ import annotations

import os
import re
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import schemathesis
import uvicorn
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from api.app import create_app
from composition.bootstrap import System
from composition.demo_network import DEMO_ACCOUNTS, DEMO_PASSWORD, load_demo, load_demo_accounts
from tests.e2e.callers import network_admin
from tests.integration.support import eventually

# Examples per operation, per role and generation mode (positive, negative). The roles
# most operations refuse (all but nobody and the network administrator) get a third of
# them: their answers are mostly the refusal, whose every route the authorisation matrix
# walks already (a CI-time budget: FUZZ_EXAMPLES raises both).
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "10"))
REFUSED_EXAMPLES = max(3, EXAMPLES // 3)
CHECKS = [
    schemathesis.checks.not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
# One account per role: the demo's people sign in with their password; the postal
# partner's system uses the API key the demo prints once.
ROLES = {role: username for username, _, _, _, role in DEMO_ACCOUNTS}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def server(system: System) -> Iterator[tuple[str, dict[str, dict[str, str]]]]:
    """The app served over HTTP by uvicorn, with the demo network and its accounts; the
    Authorization header of each role's demo account (and none for anonymous)."""
    load_demo(system)
    printed = load_demo_accounts(system)
    system.start_projector()
    port = _free_port()
    config = uvicorn.Config(create_app(system=system), port=port, log_level="warning")
    serving = uvicorn.Server(config)
    thread = threading.Thread(target=serving.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    eventually(lambda: serving.started, what="the server to start")
    eventually(lambda: len(requests.get(f"{base}/libraries").json()) == 16, what="demo network")
    key = re.search(r"API key \(shown once\): (\S+)", printed)
    assert key, printed
    headers: dict[str, dict[str, str]] = {"anonymous": {}}
    for role, username in ROLES.items():
        if role == "postal_partner":
            credential = key.group(1)
        else:
            answer = requests.post(
                f"{base}/auth/token", data={"username": username, "password": DEMO_PASSWORD}
            )
            assert answer.status_code == 200, answer.text
            credential = answer.json()["access_token"]
        headers[role] = {"Authorization": f"Bearer {credential}"}
    try:
        yield base, headers
    finally:
        serving.should_exit = True
        thread.join(10)


def _summary(failure: BaseException) -> str:
    title = getattr(failure, "title", type(failure).__name__)
    message = " ".join(str(getattr(failure, "message", failure)).split())
    return f"{title}: {message[:300]}"


def can_be_invalid(document: dict[str, Any]) -> set[str]:
    """The operations ('METHOD /path') with a request that breaks their schema: those with a
    body or a parameter more constrained than any string (the rest have no negative case)."""
    found = set()
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            params = operation.get("parameters", [])
            if operation.get("requestBody") or any(
                p["schema"] != {"type": "string", "title": p["schema"].get("title")} for p in params
            ):
                found.add(f"{method.upper()} {path}")
    return found


def fuzz(
    schema: Any,
    base: str,
    headers: dict[str, str],
    mode: GenerationMode,
    only: set[str],
    fuzzed: set[str],
    examples: int = EXAMPLES,
) -> list[str]:
    """Run the operations of `schema` named in `only` with `examples` generated cases each
    (adding them to `fuzzed`); the failures."""
    failures: list[str] = []
    session = requests.Session()
    checks = [*CHECKS, negative_data_rejection] if mode is GenerationMode.NEGATIVE else CHECKS
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.label not in only:
            continue

        @settings(
            max_examples=examples,
            deadline=None,
            database=None,
            derandomize=True,
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy(generation_mode=mode))
        def one(case: Any) -> None:
            response = case.call(base_url=base, session=session, headers=headers)
            try:
                case.validate_response(response, checks=checks, headers=headers)
            except BaseExceptionGroup as group:  # the failed checks: note them, go on
                answer = f"{response.status_code} {response.text[:200]}"
                sent = f"{case.method} {case.formatted_path} {case.query} {str(case.body)[:200]}"
                for failure in group.exceptions:
                    failures.append(
                        f"{case.operation.label} [{mode.value}] {_summary(failure)}\n"
                        f"    sent {sent}\n    got {answer}"
                    )

        one()
        fuzzed.add(operation.label)
    return failures


def test_every_operation_answers_as_its_schema_says_for_every_role(
    server: tuple[str, dict[str, dict[str, str]]],
) -> None:
    base, headers = server
    document = requests.get(f"{base}/openapi.json").json()
    schema = schemathesis.openapi.from_dict(document)
    every = {f"{m.upper()} {p}": o for p, ops in document["paths"].items() for m, o in ops.items()}
    public = {name for name, operation in every.items() if not operation.get("security")}
    invalid = can_be_invalid(document)
    started = time.monotonic()
    failures: list[str] = []
    fuzzed: set[str] = set()
    for role, role_headers in headers.items():
        if os.environ.get("FUZZ_ROLES") and role not in os.environ["FUZZ_ROLES"].split(","):
            continue
        # Public operations answer everyone alike: fuzzed once, as nobody. Schema-invalid
        # requests are fuzzed as the network administrator, whom most operations let
        # through to validation (others are refused first, which is a 4xx too).
        signed_in = set(every) - public
        plan = {
            "anonymous": [
                (GenerationMode.POSITIVE, set(every)),
                (GenerationMode.NEGATIVE, public & invalid),
            ],
            "network_admin": [
                (GenerationMode.POSITIVE, signed_in),
                (GenerationMode.NEGATIVE, signed_in & invalid),
            ],
        }.get(role, [(GenerationMode.POSITIVE, signed_in)])
        examples = EXAMPLES if role in ("anonymous", "network_admin") else REFUSED_EXAMPLES
        for mode, only in plan:
            found = fuzz(schema, base, role_headers, mode, only, fuzzed, examples)
            failures += [f"{role}: {f}" for f in found]
    print(f"fuzzed in {time.monotonic() - started:.0f} s")
    if not os.environ.get("FUZZ_ROLES"):
        assert fuzzed == set(every), "operations not fuzzed"
    distinct = {f.splitlines()[0].split(": ", 1)[1]: f for f in failures}  # one per kind
    if distinct:
        pytest.fail(f"{len(distinct)} kinds of failure:\n" + "\n".join(sorted(distinct.values())))


def test_every_error_is_documented_as_problem_json_and_text_refuses_control_characters(
    system: System,
) -> None:
    with TestClient(create_app(system=system)) as client:
        document = client.get("/openapi.json").json()
        for path, operations in document["paths"].items():
            for method, operation in operations.items():
                for status, response in operation["responses"].items():
                    if int(status) >= 400 and status != "503":
                        assert set(response["content"]) == {"application/problem+json"}, (
                            f"{method} {path} {status}"
                        )
        library = {"code": "HNM-S-CC", "kind": "school", "locality": "Phủ Lý"}
        for name in ("Thư viện\x00", "Thư viện\x1b[2J", "Thư\nviện"):
            r = client.post(
                "/libraries", json={**library, "name": name}, headers=network_admin(client)
            )
            assert r.status_code == 422, r.text
            assert r.headers["content-type"] == "application/problem+json"
            assert r.json()["type"] == "/problems/validation-error"
            assert ["body", "name"] in [e["location"] for e in r.json()["errors"]]
        r = client.get("/libraries", params={"locality": "Phủ\x00Lý"})
        assert r.status_code == 422 and r.json()["errors"][0]["location"] == ["query", "locality"]
