"""Error coding: every error leaves with a documented `extensions.code`.

- an `ApiError` raised by a resolver keeps its message and carries its code;
- an error with no path (syntax, validation, variable coercion) is BAD_USER_INPUT;
- a dependency down or too slow (core/availability.py) is SERVICE_UNAVAILABLE;
- anything else is unexpected: logged with its traceback and the request id, and the
  client sees only INTERNAL_SERVER_ERROR and the request id (unless DEBUG is on).
"""

from __future__ import annotations

import logging

from graphql import GraphQLError
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError

from core.availability import RETRY_AFTER_SECONDS, unavailable_dependency, unavailable_message
from core.error_boundary import INTERNAL_MESSAGE
from core.logging import request_id_var
from schema.errors import ApiError, ErrorCode

log = logging.getLogger("autobroker.errors")


def apply_error_code(error: GraphQLError, *, debug: bool = False) -> None:
    """Give `error` its code in place (idempotent), masking what is unexpected."""
    if error.extensions and "code" in error.extensions:
        return
    original = error.original_error
    if isinstance(original, ApiError):
        error.message = original.message
        error.extensions = {**(error.extensions or {}), **original.as_extensions()}
        return
    dependency = unavailable_dependency(original)
    if dependency is not None:
        log.warning(
            "unavailable: %s", dependency, extra={"error": repr(original)[:300]}
        )  # fmt: skip
        error.message = unavailable_message(dependency)
        error.extensions = {
            **(error.extensions or {}),
            "code": ErrorCode.SERVICE_UNAVAILABLE.value,
            "retryAfter": RETRY_AFTER_SECONDS,
            "dependency": dependency,
        }
        return
    if error.path is None and not _is_unexpected(original):
        code = ErrorCode.BAD_USER_INPUT
        if "Document contains more than" in error.message and "tokens" in error.message:
            code = ErrorCode.QUERY_TOO_COMPLEX  # the parser's token limit
        error.extensions = {**(error.extensions or {}), "code": code.value}
        return
    request_id = request_id_var.get()
    log.error(
        "unexpected error in %s",
        ".".join(str(part) for part in error.path or ()) or "operation",
        exc_info=(type(original), original, original.__traceback__) if original else None,
        extra={"graphql_message": error.message},
    )
    extensions: dict[str, object] = {"code": ErrorCode.INTERNAL_SERVER_ERROR.value}
    if request_id:
        extensions["requestId"] = request_id
    error.extensions = extensions
    if not debug:
        error.message = INTERNAL_MESSAGE


# Coercing bad input raises ValueError/TypeError inside scalars; Strawberry's operation
# type checks refuse an operation the transport cannot run (a mutation where only
# subscriptions stream, say). Anything else that escapes before execution (a database
# error in a hook, say) is ours.
_BAD_INPUT = (
    ValueError,
    TypeError,
    GraphQLError,
    InvalidOperationTypeError,
    CannotGetOperationTypeError,
)


def _is_unexpected(original: BaseException | None) -> bool:
    return original is not None and not isinstance(original, _BAD_INPUT)
