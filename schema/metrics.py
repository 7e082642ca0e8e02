"""Per-operation metrics (core/metrics.py): count, latency, outcome, SQL statements.

One extension sees every operation the engine runs, over HTTP and WebSocket alike. The
SQL count is the statements sent while the operation ran (core/db.py's counter), the
DataLoaders' batches included. Errors are counted by code here for WebSocket operations;
over HTTP the view counts them (core/graphql_view.py), so that requests refused before
the engine (an unknown persisted query, say) are counted too.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator

from graphql import GraphQLError
from starlette.websockets import WebSocket
from strawberry.extensions import SchemaExtension
from strawberry.schema.exceptions import InvalidOperationTypeError
from strawberry.types.graphql import OperationType

from core import metrics
from core.db import current_counter, start_counting
from schema.extensions import apply_error_code

log = logging.getLogger("autobroker.metrics")


def _outcome(errors: list[GraphQLError]) -> str:
    if not errors:
        return "ok"
    if all(error.path is None for error in errors):
        return "rejected"
    return "error"


class OperationMetrics(SchemaExtension):
    """Records each operation in core/metrics.py when it ends."""

    _subscribed = False

    def _operation_type(self) -> str:
        try:
            kind = self.execution_context.operation_type
        except Exception:  # noqa: BLE001 - an unparsable document has no type
            return "unknown"
        return metrics.operation_type_label(kind.value)

    async def on_operation(self) -> AsyncIterator[None]:
        started = time.perf_counter()
        counter = current_counter() or start_counting()
        statements_before = counter.count
        raised: BaseException | None = None
        try:
            yield
        except BaseException as error:
            raised = error
            raise
        finally:
            if self._subscribed:
                metrics.ACTIVE_SUBSCRIPTIONS.dec()
            try:
                self._record(
                    raised, time.perf_counter() - started, counter.count - statements_before
                )
            except Exception:  # metrics must never fail a request
                log.exception("recording operation metrics failed")

    async def on_execute(self) -> AsyncIterator[None]:
        ctx = self.execution_context
        if ctx.operation_type is OperationType.SUBSCRIPTION and not ctx.pre_execution_errors:
            self._subscribed = True
            metrics.ACTIVE_SUBSCRIPTIONS.inc()
        yield

    def _record(self, raised: BaseException | None, seconds: float, statements: int) -> None:
        ctx = self.execution_context
        result = ctx.result
        errors = list(ctx.pre_execution_errors or (result.errors if result else None) or ())
        if isinstance(raised, GraphQLError):  # a parser error raised through the extensions
            errors = [raised]
            apply_error_code(raised, debug=bool(getattr(ctx.schema, "debug", False)))
        if isinstance(raised, asyncio.CancelledError | GeneratorExit):
            outcome = "cancelled"  # the client went away (a subscription's usual end)
        elif isinstance(raised, InvalidOperationTypeError):
            outcome = "rejected"  # a mutation by GET, a subscription in a plain request
        elif raised is not None and not errors:
            outcome = "error"
        else:
            outcome = _outcome(errors)
        operation_type = self._operation_type()
        name = metrics.OPERATION_NAMES.label(ctx.operation_name, admit=outcome != "rejected")
        if operation_type == "subscription":
            metrics.record_operation(name, operation_type, outcome)
        else:
            metrics.record_operation(
                name, operation_type, outcome, seconds=seconds, statements=statements
            )
        if isinstance(getattr(ctx.context, "request", None), WebSocket):
            metrics.record_errors((error.extensions or {}).get("code") for error in errors)
