"""Typed domain errors. Each carries a stable slug that the API maps to a problem type."""

from __future__ import annotations


class DomainError(Exception):
    """A command that the domain refuses. `slug` names the problem type for clients."""

    slug = "domain-error"
    title = "The command was refused"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class InvalidInput(DomainError):
    """A command's arguments break a rule of the domain (bad code, unknown kind, ...)."""

    slug = "invalid-input"
    title = "Invalid input"


class AlreadyExists(DomainError):
    """A create command names something that exists with different data."""

    slug = "already-exists"
    title = "Already exists"


class NotFound(DomainError):
    """A command names an aggregate that does not exist."""

    slug = "not-found"
    title = "Not found"


class IllegalTransition(DomainError):
    """A command that the aggregate's current state does not allow (names both)."""

    slug = "illegal-transition"
    title = "Not allowed in this state"

    def __init__(
        self, command: str, state: str, allowed: list[str] | None = None, what: str = "request"
    ) -> None:
        hint = f"; allowed now: {', '.join(sorted(allowed))}" if allowed else ""
        super().__init__(f"{command} is not allowed when the {what} is {state}{hint}")
        self.command = command
        self.state = state
        self.allowed = sorted(allowed or [])


class NotYourTurn(DomainError):
    """A library acts on a request in a role it does not hold (e.g. answers as supplier
    while it is not the current supplier)."""

    slug = "not-party"
    title = "Your library is not the party that may do this"


class Conflict(DomainError):
    """Someone else changed the aggregate first; the command was not applied."""

    slug = "conflict"
    title = "Changed by someone else first"

    def __init__(self, detail: str, current: dict[str, object] | None = None) -> None:
        super().__init__(detail)
        self.current = current


class IdempotencyKeyReused(DomainError):
    """A client request id that already named another command (another request, action or
    arguments) of the same library; nothing was done. An exact retry is not this: it gets
    the first result back."""

    slug = "idempotency-key-reused"
    title = "Client request id already used for another command"
