"""The exceptions resolvers raise to produce the documented error codes (core/errors.py).

    ApiError (code, message, extensions)
     ├── NotFoundError            NOT_FOUND
     ├── BadUserInputError        BAD_USER_INPUT (names the offending `field`)
     ├── UnauthenticatedError     UNAUTHENTICATED
     ├── ForbiddenError           FORBIDDEN
     ├── ConflictError            CONFLICT
     └── RateLimitedError         RATE_LIMITED (carries `retryAfter`, seconds)

A failure that says PostgreSQL or Redis is down or too slow (core/availability.py) is
SERVICE_UNAVAILABLE, with `retryAfter` (seconds) and `dependency`; HTTP answers it 503
with Retry-After. Anything else raised while resolving is an unexpected error: the
`CodedErrors` extension replaces it by `INTERNAL_SERVER_ERROR` and the request id.
"""

from __future__ import annotations

from typing import Any

from core.errors import ErrorCode

__all__ = [
    "ApiError",
    "BadUserInputError",
    "ConflictError",
    "ErrorCode",
    "ForbiddenError",
    "NotFoundError",
    "RateLimitedError",
    "UnauthenticatedError",
]


class ApiError(Exception):
    """An expected failure, reported to the client with its code and extensions."""

    code: ErrorCode = ErrorCode.INTERNAL_SERVER_ERROR

    def __init__(self, message: str, **extensions: Any) -> None:
        super().__init__(message)
        self.message = message
        self.extensions = extensions

    def as_extensions(self) -> dict[str, Any]:
        return {"code": self.code.value, **self.extensions}


class NotFoundError(ApiError):
    code = ErrorCode.NOT_FOUND


class BadUserInputError(ApiError):
    code = ErrorCode.BAD_USER_INPUT

    def __init__(self, message: str, *, field: str | None = None, **extensions: Any) -> None:
        if field is not None:
            extensions["field"] = field
        super().__init__(message, **extensions)


class UnauthenticatedError(ApiError):
    code = ErrorCode.UNAUTHENTICATED


class ForbiddenError(ApiError):
    code = ErrorCode.FORBIDDEN


class ConflictError(ApiError):
    code = ErrorCode.CONFLICT


class RateLimitedError(ApiError):
    code = ErrorCode.RATE_LIMITED

    def __init__(self, message: str, *, retry_after: int, **extensions: Any) -> None:
        super().__init__(message, retryAfter=retry_after, **extensions)
