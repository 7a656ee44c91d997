"""Read your own writes (ADR 0017). The read models follow the event store a moment later,
so a read right after a command may find the state before it. A command's answer carries
the version it produced; a read waits briefly for the read model to reach that version:
the version the caller names (`min_version`), or the one this process remembers the same
account writing to the same resource. The web UI passes the version in its redirects."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import Query

from domain.access import Principal

# How long a read waits for the read model to reach the version it wants.
CATCH_UP_SECONDS = 3.0
POLL_SECONDS = 0.05
# Versions remembered per (account, resource), the oldest forgotten first.
REMEMBERED = 10_000

MinVersion = Annotated[
    int | None,
    Query(
        ge=1,
        le=2**31 - 1,
        description="Wait briefly (a few seconds at most) for the read model to reach this "
        "version: the `version` a command answered",
    ),
]

# Who "wrote" what everyone may wait for (the existence of a library is no secret).
EVERYONE = "*"

T = TypeVar("T")


class RecentWrites:
    """The versions accounts wrote lately, by (account, resource), in this process."""

    def __init__(self, size: int = REMEMBERED) -> None:
        self._size = size
        self._versions: OrderedDict[tuple[str, str], int] = OrderedDict()
        self._lock = threading.Lock()

    def wrote(self, who: Principal | str, resource: str, version: int) -> None:
        key = (who if isinstance(who, str) else who.account, resource)
        with self._lock:
            self._versions[key] = max(version, self._versions.get(key, 0))
            self._versions.move_to_end(key)
            while len(self._versions) > self._size:
                self._versions.popitem(last=False)

    def wanted(self, who: Principal | str, resource: str, min_version: int | None = None) -> int:
        """The version a read of `resource` by `who` should wait for (0: none)."""
        key = (who if isinstance(who, str) else who.account, resource)
        with self._lock:
            remembered = self._versions.get(key, 0)
        return max(remembered, min_version or 0)


def caught_up(
    read: Callable[[], T | None],
    version_of: Callable[[T], int],
    version: int,
    timeout: float = CATCH_UP_SECONDS,
) -> T | None:
    """`read()` once it finds a version of at least `version`, or what it finds when
    `timeout` has passed (maybe older, maybe None)."""
    deadline = time.monotonic() + timeout
    while True:
        found = read()
        if version <= 0 or (found is not None and version_of(found) >= version):
            return found
        if time.monotonic() > deadline:
            return found
        time.sleep(POLL_SECONDS)


def version_in(found: dict[str, Any]) -> int:
    """The aggregate version a read model's row says it reflects."""
    if "version" in found:
        return int(found["version"])
    history = found.get("history") or []
    return int(history[-1]["version"]) if history else 0
