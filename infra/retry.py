"""Bounded, logged retries (tenacity) for start-up and for transient PostgreSQL/Kafka errors."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import psycopg
import structlog
from kafka.errors import KafkaError
from tenacity import (
    RetryCallState,
    retry,
    retry_if_exception,
    stop_after_delay,
    wait_exponential_jitter,
)

log = structlog.get_logger("libshare.retry")

F = TypeVar("F", bound=Callable[..., Any])

TRANSIENT_KAFKA = (KafkaError, OSError)
TRANSIENT_PG = (psycopg.OperationalError, psycopg.InterfaceError)


def _is_transient(exc: BaseException) -> bool:
    if isinstance(exc, KafkaError):
        # kafka-python marks errors worth retrying; broker-down errors are NoBrokersAvailable,
        # KafkaTimeoutError, KafkaConnectionError: all retriable or connection-level.
        return bool(getattr(exc, "retriable", True)) or "Connection" in type(exc).__name__
    return isinstance(exc, (*TRANSIENT_PG, OSError))


def _log_retry(what: str) -> Callable[[RetryCallState], None]:
    def before_sleep(state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        log.warning(
            "retrying",
            what=what,
            attempt=state.attempt_number,
            sleep_s=round(state.next_action.sleep, 3) if state.next_action else None,
            error=f"{type(exc).__name__}: {exc}" if exc else None,
        )

    return before_sleep


def transient(what: str, *, max_seconds: float = 60.0, max_wait: float = 5.0) -> Callable[[F], F]:
    """Retry on transient PostgreSQL/Kafka errors with jittered exponential back-off,
    at most `max_wait` seconds between attempts and `max_seconds` in all; log each retry."""
    return retry(  # type: ignore[return-value]
        retry=retry_if_exception(_is_transient),
        wait=wait_exponential_jitter(multiplier=0.1, max=max_wait),
        stop=stop_after_delay(max_seconds),
        before_sleep=_log_retry(what),
        reraise=True,
    )
