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
