"""Why an event was written: its correlation id (one per user action or incoming message:
every event that action led to shares it) and its causation id (the message or event
that caused it: an HTTP request, a carrier's update, a command). Both travel in a
contextvar from where the action enters (api/context.py, services/entry.py, a carrier's
message) to where its events are saved (infra/network_app.py), which stores them in the
events' metadata beside the actor and the trace id (ADR 0026)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from infra.envelope import Envelope


@dataclass(frozen=True)
class Cause:
    correlation_id: str
    causation_id: str


_current: ContextVar[Cause | None] = ContextVar("libshare_cause", default=None)


def current_cause() -> Cause | None:
    return _current.get()


@contextmanager
def caused_by(causation_id: str, correlation_id: str | None = None) -> Iterator[Cause]:
    """Events saved inside are caused by `causation_id`; they keep the correlation id of
    the action around them (or take `correlation_id`, or the causation id itself)."""
    outer = _current.get()
    correlation = correlation_id or (outer.correlation_id if outer else causation_id)
    cause = Cause(correlation, causation_id)
    token = _current.set(cause)
    try:
        yield cause
    finally:
        _current.reset(token)


@contextmanager
def new_action(kind: str) -> Iterator[Cause]:
    """A command that enters without a cause of its own (the CLI, the timers, the demo
    loader, a test): one new correlation id, the command itself its cause."""
    outer = _current.get()
    if outer is not None:
        yield outer
        return
    with caused_by(f"{kind}:{uuid.uuid4().hex}") as cause:
        yield cause


def trace_id_of(traceparent: str | None) -> str | None:
    """The trace id of a W3C traceparent (00-<trace id>-<span id>-<flags>)."""
    if not traceparent:
        return None
    parts = traceparent.split("-")
    return parts[1] if len(parts) == 4 else None


def cause_metadata(traceparent: str | None) -> dict[str, Any]:
    """What an event's metadata records of why it was written."""
    found: dict[str, Any] = {}
    cause = _current.get()
    if cause is not None:
        found["correlation_id"] = cause.correlation_id
        found["causation_id"] = cause.causation_id
    trace_id = trace_id_of(traceparent)
    if trace_id:
        found["trace_id"] = trace_id
    return found


def cause_of(event: Envelope) -> dict[str, Any]:
    """What a timeline shows of an event's cause: its own id (what other events name as
    their cause), its correlation and causation ids and its trace id; None where an event
    stored before these were recorded has none."""
    return {
        "event_id": event.id,
        "correlation_id": event.correlation_id,
        "causation_id": event.causation_id,
        "trace_id": trace_id_of(event.traceparent),
    }
