"""Which failures mean "a dependency is down or too slow", said in one place.

A request that cannot be served because PostgreSQL or Redis is unavailable answers
SERVICE_UNAVAILABLE: HTTP 503 with `Retry-After`, or a GraphQL error whose
`extensions.code` is SERVICE_UNAVAILABLE (with `retryAfter` and `dependency`). Every layer
asks `unavailable_dependency(error)`: the GraphQL error coding (schema/extensions.py), the
HTTP edge (core/app.py), WebSocket and SSE streams, and the jobs (jobs/observed.py, which
retry such a run instead of failing it).

Unavailable means: a connection could not be made or broke (refused, reset, a socket
file gone, the server shutting down), a connect, pool or statement timeout passed, or
Redis's circuit is open (core/redis.py). A constraint violation or a bad query is not
unavailability: it stays an internal error.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import asyncpg
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy import exc as sa_exc

from core.errors import ErrorCode

RETRY_AFTER_SECONDS = 5
REDIS = "redis"
DATABASE = "database"

# SQLSTATE classes and codes of a database that is going away or too slow:
# 08 connection exceptions, 57P01-57P03 admin/crash shutdown and "cannot connect now",
# 57014 query cancelled (statement_timeout), 53300 too many connections.
_UNAVAILABLE_SQLSTATES = ("57P01", "57P02", "57P03", "57014", "53300")


class ServiceUnavailableError(Exception):
    """A dependency is unavailable; the request may be retried after `retry_after` s."""

    def __init__(
        self, dependency: str, message: str | None = None, *, retry_after: int = RETRY_AFTER_SECONDS
    ) -> None:
        self.dependency = dependency
        self.retry_after = retry_after
        self.message = (
            message or f"temporarily unavailable ({dependency}); retry in {retry_after} s"
        )
        super().__init__(self.message)


def _chain(error: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        orig = getattr(current, "orig", None)  # SQLAlchemy's wrapped DBAPI error
        if isinstance(orig, BaseException) and id(orig) not in seen:
            yield from _chain(orig)
        current = current.__cause__ or current.__context__


def _database_down(error: BaseException) -> bool:
    if isinstance(error, sa_exc.TimeoutError):  # the pool had no connection in time
        return True
    if isinstance(error, sa_exc.DBAPIError) and error.connection_invalidated:
        return True
    if isinstance(
        error,
        asyncpg.exceptions.ConnectionDoesNotExistError
        | asyncpg.exceptions.CannotConnectNowError
        | asyncpg.exceptions.ConnectionFailureError
        | asyncpg.exceptions.QueryCanceledError
        | asyncpg.exceptions.AdminShutdownError
        | asyncpg.exceptions.CrashShutdownError
        | asyncpg.exceptions.TooManyConnectionsError
        | asyncpg.exceptions.InterfaceError,
    ):
        return True
    state = getattr(error, "sqlstate", None)
    return isinstance(state, str) and (state.startswith("08") or state in _UNAVAILABLE_SQLSTATES)


def unavailable_dependency(error: BaseException | None) -> str | None:
    """`redis` or `database` when `error` says that dependency is down or too slow."""
    if error is None:
        return None
    for cause in _chain(error):
        if isinstance(cause, ServiceUnavailableError):
            return cause.dependency
        if isinstance(cause, RedisConnectionError | RedisTimeoutError):
            return REDIS
        if _database_down(cause):
            return DATABASE
    for cause in _chain(error):
        # What asyncpg raises while connecting: a timeout, a refused or reset socket, or
        # PostgreSQL's socket file gone (the server stopped).
        if isinstance(cause, TimeoutError | asyncio.TimeoutError | ConnectionError):
            return DATABASE
        if isinstance(cause, FileNotFoundError) and ".s.PGSQL." in str(cause):
            return DATABASE
    return None


def unavailable_message(dependency: str) -> str:
    return f"temporarily unavailable ({dependency}); retry in {RETRY_AFTER_SECONDS} s"


def unavailable_body(dependency: str) -> dict[str, object]:
    """The JSON body of a 503: one GraphQL error, coded."""
    return {
        "errors": [
            {
                "message": unavailable_message(dependency),
                "extensions": {
                    "code": ErrorCode.SERVICE_UNAVAILABLE,
                    "retryAfter": RETRY_AFTER_SECONDS,
                    "dependency": dependency,
                },
            }
        ]
    }
