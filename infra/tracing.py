"""OpenTelemetry: one tracer provider per process, console or OTLP exporter chosen by settings,
and W3C trace context carried into and out of Kafka headers."""

from __future__ import annotations

from collections.abc import Mapping

from opentelemetry import propagate, trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter

from infra.settings import Settings, TraceExporter

_configured = False


def configure_tracing(settings: Settings) -> None:
    global _configured
    if _configured:
        return
    provider = TracerProvider(resource=Resource.create({"service.name": settings.service_name}))
    if settings.trace_exporter is TraceExporter.CONSOLE:
        provider.add_span_processor(BatchSpanProcessor(ConsoleSpanExporter()))
    elif settings.trace_exporter is TraceExporter.OTLP:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        exporter = (
            OTLPSpanExporter(endpoint=settings.otlp_endpoint)
            if settings.otlp_endpoint
            else OTLPSpanExporter()
        )
        provider.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    _configured = True


def tracer(name: str) -> trace.Tracer:
    return trace.get_tracer(name)


def current_traceparent() -> str | None:
    """The W3C traceparent of the current span, if any, for storing beside an event.
    Formatted here rather than through the propagators: every command asks, and most
    often (timers, CLI, no tracing configured) there is no span to name."""
    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return None
    return f"00-{context.trace_id:032x}-{context.span_id:016x}-{context.trace_flags:02x}"


def context_from_traceparent(traceparent: str | None) -> object:
    carrier: Mapping[str, str] = {"traceparent": traceparent} if traceparent else {}
    return propagate.extract(carrier)
