"""Helpers shared by integration tests: load libraries through commands, read models."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from projections.libraries import list_libraries
from workers.bootstrap import System


def register_many(system: System, n: int, prefix: str = "T") -> list[str]:
    codes = [f"{prefix}-{i:04d}" for i in range(n)]
    for code in codes:
        system.app.register_library(code, f"Thư viện {code}", "school", "Phủ Lý")
    return codes


def libraries(system: System) -> list[dict[str, Any]]:
    with system.db.transaction() as conn:
        return list_libraries(conn)


def eventually(check: Callable[[], bool], timeout: float = 20.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")
