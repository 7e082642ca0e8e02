"""OpenTelemetry tracing: off by default, switched on by the standard OTEL_* variables.

On when OTEL_TRACES_EXPORTER names an exporter (`otlp`, `console`; `none` is off) or an
OTLP endpoint is set (OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT),
unless OTEL_SDK_DISABLED=true. The SDK reads the rest itself: OTEL_SERVICE_NAME,
OTEL_RESOURCE_ATTRIBUTES, OTEL_TRACES_SAMPLER, OTEL_EXPORTER_OTLP_HEADERS, …; OTLP goes
over HTTP/protobuf.

Spans: an HTTP server span per request (the ASGI middleware, health and metrics left
out), one per GraphQL operation with parsing, validation and resolver spans
(schema/tracing.py, without the document text or resolver arguments that could carry a
secret), one per SQL statement (SQLAlchemy, statement text without parameters), one per
Redis command (arguments replaced by `?`), one per background job run (jobs/observed.py).
"""

from __future__ import annotations

import os
from collections.abc import Mapping

SUPPORTED_EXPORTERS = ("otlp", "console")
_configured = False


class TracingConfigError(ValueError):
    """An OTEL_* variable asks for something this build cannot do."""

    def __init__(self, setting: str, reason: str) -> None:
        super().__init__(f"{setting}: {reason}")
        self.setting = setting


def tracing_requested(environ: Mapping[str, str] = os.environ) -> bool:
    """Whether the environment switches tracing on."""
    if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    exporters = environ.get("OTEL_TRACES_EXPORTER")
    if exporters is not None:
        return bool(_exporter_names(exporters))
    return bool(
        environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
        or environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    )


def _exporter_names(value: str) -> list[str]:
    names = [name.strip().lower() for name in value.split(",") if name.strip()]
    return [name for name in names if name != "none"]


def check_tracing_config(environ: Mapping[str, str] = os.environ) -> None:
    """Raise `TracingConfigError` for the first OTEL_* variable this build cannot honour."""
    if not tracing_requested(environ):
        return
    for name in _exporter_names(environ.get("OTEL_TRACES_EXPORTER", "otlp")):
        if name not in SUPPORTED_EXPORTERS:
            raise TracingConfigError(
                "OTEL_TRACES_EXPORTER", f"unknown exporter {name!r} (otlp, console or none)"
            )
    for variable in ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"):
        protocol = environ.get(variable)
        if protocol and protocol.strip() != "http/protobuf":
            raise TracingConfigError(variable, "only http/protobuf is supported")


def tracing_enabled() -> bool:
    """Whether this process has set tracing up."""
    return _configured


def configure_tracing(service_name: str) -> bool:
    """Set up the tracer provider and the SQL and Redis instrumentation, once, if asked."""
    global _configured
    if _configured:
        return True
    if not tracing_requested():
        return False
    check_tracing_config()
    from opentelemetry import trace
    from opentelemetry.instrumentation.redis import RedisInstrumentor
    from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import (
        BatchSpanProcessor,
        ConsoleSpanExporter,
        SimpleSpanProcessor,
    )

    resource = Resource.create()
    if str(resource.attributes.get(SERVICE_NAME, "")).startswith("unknown_service"):
        resource = resource.merge(Resource({SERVICE_NAME: service_name}))
    provider = TracerProvider(resource=resource)
    for name in _exporter_names(os.environ.get("OTEL_TRACES_EXPORTER", "otlp")):
        if name == "console":
            provider.add_span_processor(SimpleSpanProcessor(ConsoleSpanExporter()))
        else:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    # Engines made from now on (core/db.py looks create_async_engine up at call time).
    # The instrumentation declares SQLAlchemy < 2.1; it only listens to engine events,
    # which 2.1 keeps (tests/integration/test_tracing.py checks the SQL spans).
    SQLAlchemyInstrumentor().instrument(tracer_provider=provider, skip_dep_check=True)
    RedisInstrumentor().instrument(tracer_provider=provider)
    _configured = True
    return True
