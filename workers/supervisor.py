"""Worker threads inside `libshare serve` are supervised: a worker that dies (an
exception its own retries did not catch, a bug) is logged with its traceback and started
again after a bounded back-off, until the process stops. Worker processes get the same
from their restart policy (docker-compose.yml: `restart: unless-stopped`)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import structlog

log = structlog.get_logger("libshare.supervisor")

RESTART_FIRST, RESTART_MOST = 1.0, 30.0  # seconds before a restart, doubling per quick death
STEADY_AFTER = 60.0  # a worker that ran this long before dying starts again at once


class Supervised:
    """Runs `target(stop)` in a daemon thread and starts it again whenever it ends while
    `stop` is not set. `restarts` counts how often that happened."""

    def __init__(self, name: str, target: Callable[[threading.Event], None], stop: threading.Event):
        self.name = name
        self.target = target
        self.stop = stop
        self.restarts = 0
        self.thread = threading.Thread(target=self._loop, name=name, daemon=True)

    def start(self) -> Supervised:
        self.thread.start()
        return self

    def join(self, timeout: float | None = None) -> None:
        self.thread.join(timeout)

    def is_alive(self) -> bool:
        return self.thread.is_alive()

    def _loop(self) -> None:
        wait = RESTART_FIRST
        while not self.stop.is_set():
            started = time.monotonic()
            try:
                self.target(self.stop)
                if self.stop.is_set():
                    return
                log.error("worker ended on its own; restarting", worker=self.name)
            except Exception as exc:  # whatever killed it, start again
                log.exception("worker died; restarting", worker=self.name, error=repr(exc))
            if time.monotonic() - started >= STEADY_AFTER:
                wait = RESTART_FIRST
            self.restarts += 1
            self.stop.wait(wait)
            wait = min(RESTART_MOST, wait * 2)
