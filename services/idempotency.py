"""Commands with a client's idempotency key: a retry (the same command under the same key)
gets the first result back and records nothing new; the key reused for a different
command is refused. The key and the command's result are saved in the transaction that
saves its events (infra/event_store.py), so no retry ever sees one without the other."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from typing import Any

from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError

from domain.access import Actor
from domain.errors import Conflict, IdempotencyKeyReused
from infra.network_app import NetworkApp

# A command's planned change: the aggregates to save, and the result to answer with.
Planned = tuple[Sequence[Aggregate], dict[str, Any]]


def command_fingerprint(command: str, **arguments: Any) -> str:
    """What a command was, for its idempotency key: its name and arguments (not its
    preconditions, such as expected_version, nor the time it ran)."""
    text = json.dumps({"command": command, **arguments}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


class Idempotency:
    def __init__(self, store: NetworkApp) -> None:
        self.store = store

    def run(
        self,
        actor: Actor,
        key: str | None,
        fingerprint: str,
        plan: Callable[[], Planned],
        current: Callable[[], dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """Run a command once per key. Losing a race to another save of the same
        aggregates is a Conflict naming `current()`, unless the winner was this very
        command (then its result)."""
        if key:
            prior = self.replay(key, fingerprint)
            if prior is not None:
                return prior
        changed, result = plan()
        command = {"key": key, "fingerprint": fingerprint, "result": result} if key else None
        try:
            self.store.record(*changed, actor=actor, command=command)
        except IntegrityError:
            if key:
                prior = self.replay(key, fingerprint)
                if prior is not None:
                    return prior
            state = current() if current else {}
            raise Conflict(
                "the request was changed by someone else first; reload it and retry"
                + (
                    f" (now {state.get('status')}, version {state.get('version')})" if state else ""
                ),
                current=state or None,
            ) from None
        return result

    def replay(self, key: str, fingerprint: str) -> dict[str, Any] | None:
        """The first result of the command recorded with this key, if it is this command."""
        prior = self.store.recorded_command(key)
        if prior is None:
            return None
        if prior.fingerprint is not None and prior.fingerprint != fingerprint:
            client_id = key.split(":", 1)[1]
            raise IdempotencyKeyReused(
                f"client_request_id {client_id!r} was already used for another command"
                f" (on request {prior.result.get('id')}); use a new id for a new command"
            )
        return {**prior.result, "replayed": True}
