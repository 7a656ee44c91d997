"""The OpenAPI document says what the server answers: every error status an operation can
return, as `application/problem+json` with the problem schema (api/problems.py), never as
`application/json`. Statuses follow from what an operation is (signed in: 401; guarded by
a permission: 403; has parameters or a body: 422; names a resource in its path, or is a
command: 404; a command: 409), plus the few that only some operations answer (below).
tests/e2e/test_api_contract.py fuzzes the server against this document."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel, ConfigDict, Field

from api.auth import Authorize
from api.problems import MEDIA_TYPE, PROBLEMS
from domain.text import LINE_PATTERN

# Statuses that only these operations answer, beyond what the rules give.
EXTRA: dict[str, set[int]] = {
    "POST /auth/token": {401, 429},  # wrong credentials; sign-ins throttled
    # Signed by the carrier, not signed in: a bad or stale signature is 401.
    "POST /partners/{partner}/shipment-events": {400, 401, 429},
    # Public: the home library may not exist; the reader's own proved by the access key.
    "POST /readers": {404, 409},
    "POST /readers/me/card": {401, 404},
    "POST /readers/me/data": {401, 404},
    "POST /readers/me/erasure": {401, 404, 409},
    "POST /readers/me/digital": {401, 404},
    # No copy free, the cooling-off, a cap, a card not valid today: 409.
    "POST /readers/me/digital/{work}/{action}": {401, 404, 409},
    # The viewer link is the credential: a dead one is 410 (`viewer-link-dead`).
    "GET /viewer/{token}/pages/{page}": {404, 410},
    # The verifiable log: no such checkpoint, or the event not logged yet (ADR 0026).
    "GET /audit/checkpoint": {404},
    "GET /audit/proofs/inclusion": {404},
    "GET /audit/proofs/consistency": {404},
    # An outside ISO 18626 peer: its shared secret, not a sign-in (ADR 0028). No ISO 18626
    # message at all is 400 with an ERROR confirmation; no XSD folder configured, 503.
    "POST /iso18626": {400, 401, 503},
}
# Idempotent creates answer 200 when the same thing existed already (a retry).
REPLAYED = {
    "POST /requests",
    "POST /accounts",
    "POST /libraries",
    "POST /partners",
    "POST /readers",
    "POST /digital/{work}/loans",
    "POST /digital/{work}/holds",
}
DESCRIPTIONS = {
    400: "The body cannot be parsed (`http-error`)",
    401: "Not signed in, or the credential is invalid (`unauthenticated`)",
    403: "Signed in, but no role of the account may do this here (`forbidden`, `not-party`)",
    404: "No such resource, or not one you may see (`not-found`)",
    409: "Refused in the resource's current state (`conflict`, `already-exists`, "
    "`illegal-transition`, `domain-error`, `library-merged`, `code-in-use`, `card-not-valid`, "
    "`not-lendable`, `no-copy-free`, `cooling-off`, `reader-limit`, `renewal-refused`)",
    422: "The request breaks the schema (`validation-error`) or a rule of the domain "
    "(`invalid-input`, `idempotency-key-reused`, `bad-legal-act`, `merge-into-itself`)",
    410: "The viewer link is dead: forged, expired, or its loan ended (`viewer-link-dead`)",
    429: "Too many requests; Retry-After says when to retry (`rate-limited`, `login-throttled`)",
    503: "A part of the system is down",
}


class ValidationIssue(BaseModel):
    location: list[str | int]
    message: str


class Problem(BaseModel):
    """An RFC 9457 problem. `type` is stable (`/problems/<slug>`, described at that path);
    some types add members: `errors` (validation-error), `state`, `command` and `allowed`
    (illegal-transition), `current` (conflict)."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(examples=["/problems/not-found"])
    title: str
    status: int = Field(ge=400, le=599)
    detail: str
    instance: str | None = None
    request_id: str | None = None
    errors: list[ValidationIssue] | None = None


def _route_guards(app: FastAPI) -> dict[str, list[Authorize]]:
    """'METHOD /path' -> the Authorize dependencies of the route."""

    def guards(dependant: Any) -> list[Authorize]:
        if dependant is None:
            return []
        found = [dependant.call] if isinstance(dependant.call, Authorize) else []
        for sub in dependant.dependencies:
            found += guards(sub)
        return found

    table: dict[str, list[Authorize]] = {}
    for route in app.routes:
        contexts = (
            list(route.effective_route_contexts())
            if hasattr(route, "effective_route_contexts")
            else [route]
        )
        for r in contexts:
            path = getattr(r, "path_format", None) or getattr(r, "path", "")
            for method in getattr(r, "methods", None) or ():
                table[f"{method} {path}"] = guards(getattr(r, "dependant", None))
    return table


def statuses(name: str, operation: dict[str, Any], guards: list[Authorize]) -> set[int]:
    """The error statuses the operation `name` ('METHOD /path') can answer."""
    method, path = name.split(" ", 1)
    found = set(EXTRA.get(name, set()))
    if guards:
        found.add(401)
        if any(g.permission is not None for g in guards):
            found.add(403)
    if operation.get("parameters") or operation.get("requestBody"):
        found.add(422)
    if operation.get("requestBody"):
        found.add(400)  # a body that cannot be read as its media type says
    if "{" in path:
        found.add(404)
    if guards and method != "GET":
        found |= {404, 409, 422}
    return found


def document(schema: dict[str, Any], app: FastAPI) -> None:
    """Give every operation of `schema` its problem responses (in place)."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components["ValidationIssue"] = ValidationIssue.model_json_schema()
    problem_schema = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    problem_schema.pop("$defs", None)
    components["Problem"] = problem_schema
    components.pop("HTTPValidationError", None)
    components.pop("ValidationError", None)
    problem_content = {MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}
    guards = _route_guards(app)
    for path, operations in schema.get("paths", {}).items():
        for method, operation in operations.items():
            name = f"{method.upper()} {path}"
            for parameter in operation.get("parameters", []):
                _plain_text(parameter.get("schema", {}))
            responses = operation.setdefault("responses", {})
            responses.pop("422", None)  # FastAPI's own, as application/json
            for status in sorted(statuses(name, operation, guards.get(name, []))):
                slugs = sorted(s for s, (code, _, _) in PROBLEMS.items() if code == status)
                described = DESCRIPTIONS.get(status, ", ".join(f"`{s}`" for s in slugs))
                responses[str(status)] = {"description": described, "content": problem_content}
            if name in REPLAYED and "200" not in responses:
                created = responses.get("201", {})
                responses["200"] = {
                    **created,
                    "description": "Existed already with the same data (or a retry): "
                    "the first result",
                }


def _plain_text(schema: dict[str, Any]) -> None:
    """A free string parameter: no control characters (api/url_text.py refuses them)."""
    for alternative in schema.get("anyOf", []):
        _plain_text(alternative)
    if schema.get("type") == "array":
        _plain_text(schema.get("items", {}))
    if schema.get("type") == "string" and not {"pattern", "enum", "format"} & schema.keys():
        schema["pattern"] = LINE_PATTERN


def install(app: FastAPI) -> None:
    """Make `app.openapi()` return the document with every operation's problems."""
    generate: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        schema = generate()
        if "Problem" not in schema.get("components", {}).get("schemas", {}):
            document(schema, app)
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
