"""Schema extensions: every error leaves with a documented `extensions.code`."""

from __future__ import annotations

import logging
from collections.abc import Iterator

from graphql import GraphQLError
from graphql import ExecutionResult as GraphQLExecutionResult
from strawberry.extensions import SchemaExtension
from strawberry.types.execution import ExecutionResult as StrawberryExecutionResult

from core.logging import request_id_var
from schema.errors import ApiError, ErrorCode

log = logging.getLogger("autobroker.errors")

INTERNAL_MESSAGE = "Internal server error; quote the requestId when reporting it."


class CodedErrors(SchemaExtension):
    """Give each error its code; replace unexpected ones by INTERNAL_SERVER_ERROR.

    - an `ApiError` raised by a resolver keeps its message and carries its code;
    - an error with no path (syntax, validation, variable coercion) is BAD_USER_INPUT;
    - anything else is unexpected: logged with its traceback and the request id, and
      the client sees only the code and the request id (unless DEBUG is on).
    """

    def __init__(self, *, debug: bool = False) -> None:
        self.debug = debug

    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        if isinstance(result, GraphQLExecutionResult | StrawberryExecutionResult) and result.errors:
            result.errors = [self.code(error) for error in result.errors]

    def code(self, error: GraphQLError) -> GraphQLError:
        original = error.original_error
        if isinstance(original, ApiError):
            return _with_extensions(error, original.message, original.as_extensions())
        if error.extensions and "code" in error.extensions:
            return error
        if error.path is None and not _is_unexpected(original):
            return _with_extensions(error, error.message, {"code": ErrorCode.BAD_USER_INPUT.value})
        request_id = request_id_var.get()
        log.error(
            "unexpected error in %s",
            ".".join(str(p) for p in error.path or ()) or "operation",
            exc_info=(type(original), original, original.__traceback__) if original else None,
            extra={"graphql_message": error.message},
        )
        extensions: dict[str, object] = {"code": ErrorCode.INTERNAL_SERVER_ERROR.value}
        if request_id:
            extensions["requestId"] = request_id
        return _with_extensions(error, error.message if self.debug else INTERNAL_MESSAGE, extensions)


def _is_unexpected(original: Exception | None) -> bool:
    # Coercion of bad input raises ValueError/TypeError inside scalars; anything else
    # escaping before execution (a database error in a hook, say) is ours.
    return original is not None and not isinstance(original, ValueError | TypeError | GraphQLError)


def _with_extensions(error: GraphQLError, message: str, extensions: dict[str, object]) -> GraphQLError:
    return GraphQLError(
        message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        original_error=None,
        extensions={**(error.extensions or {}), **extensions},
    )
