"""GraphQL spans (core/tracing.py), without anything that could carry a secret.

Strawberry's OpenTelemetry extension records the document text on the operation span and
resolver arguments on resolver spans; a `login` mutation written inline, or its `input`,
would send a password to the tracing backend. This one names the operation span
`<type> <name>` as the semantic conventions say, records the operation's name and type,
and keeps only scalar arguments whose names do not look secret.
"""

from __future__ import annotations

import re
from collections.abc import Generator
from typing import Any

from graphql import GraphQLResolveInfo
from opentelemetry.trace import SpanKind
from strawberry.extensions import LifecycleStep
from strawberry.extensions.tracing.opentelemetry import OpenTelemetryExtension

_SECRET_NAME = re.compile(r"pass|token|secret|key|card|auth", re.IGNORECASE)


def safe_arguments(args: dict[str, Any], info: GraphQLResolveInfo[Any]) -> dict[str, Any]:
    """The resolver arguments fit for a span: plain scalars with harmless names."""
    return {
        name: value
        for name, value in args.items()
        if isinstance(value, bool | int | float | str) and not _SECRET_NAME.search(name)
    }


class TracedOperations(OpenTelemetryExtension):
    """Operation, parsing, validation and resolver spans."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(arg_filter=safe_arguments, **kwargs)

    def on_operation(self) -> Generator[None, None, None]:
        ctx = self.execution_context
        span = self._tracer.start_span("GraphQL operation", kind=SpanKind.SERVER)
        span.set_attribute("component", "graphql")
        self._span_holder[LifecycleStep.OPERATION] = span
        try:
            yield
        finally:
            try:
                kind = ctx.operation_type.value
            except Exception:  # noqa: BLE001 - an unparsable document has no type
                kind = "unknown"
            name = ctx.operation_name
            span.set_attribute("graphql.operation.type", kind)
            if name:
                span.set_attribute("graphql.operation.name", name)
            span.update_name(f"{kind} {name}" if name else kind)
            span.end()
