"""The documented GraphQL error codes (`extensions.code`), as one enum.

Every layer that answers a client with a coded error takes its code from here: the
schema's `ApiError` tree (schema/errors.py), the HTTP, WebSocket and SSE edges, the
authentication backend and the error boundary. A dependency that is down is
SERVICE_UNAVAILABLE (HTTP 503 with Retry-After); an unexpected failure is
INTERNAL_SERVER_ERROR with the request id, never its text.
"""

from __future__ import annotations

import enum


class ErrorCode(enum.StrEnum):
    UNAUTHENTICATED = "UNAUTHENTICATED"
    FORBIDDEN = "FORBIDDEN"
    NOT_FOUND = "NOT_FOUND"
    BAD_USER_INPUT = "BAD_USER_INPUT"
    CONFLICT = "CONFLICT"
    RATE_LIMITED = "RATE_LIMITED"
    PERSISTED_QUERY_NOT_FOUND = "PERSISTED_QUERY_NOT_FOUND"
    PERSISTED_QUERY_NOT_ALLOWED = "PERSISTED_QUERY_NOT_ALLOWED"
    QUERY_TOO_COMPLEX = "QUERY_TOO_COMPLEX"
    SERVICE_UNAVAILABLE = "SERVICE_UNAVAILABLE"
    INTERNAL_SERVER_ERROR = "INTERNAL_SERVER_ERROR"
