"""The asyncpg engine, per-operation sessions, and a per-request SQL statement counter."""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
import sqlalchemy.ext.asyncio as sa_asyncio
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from core.settings import Settings
from core.shared_connection import ConnectionReleased, SharedConnection


@dataclass(slots=True)
class StatementCounter:
    """Counts the SQL statements one request sends, for metrics and tests."""

    count: int = 0
    statements: list[str] = field(default_factory=list)
    keep_text: bool = False


_current_counter: contextvars.ContextVar[StatementCounter | None] = contextvars.ContextVar(
    "sql_statement_counter", default=None
)


def start_counting(*, keep_text: bool = False) -> StatementCounter:
    """Count the statements sent from this context (and the tasks it starts) from now on."""
    counter = StatementCounter(keep_text=keep_text)
    _current_counter.set(counter)
    return counter


def current_counter() -> StatementCounter | None:
    return _current_counter.get()


def _count_statement(
    conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool
) -> None:
    counter = _current_counter.get()
    if counter is not None:
        counter.count += 1
        if counter.keep_text:
            counter.statements.append(statement)


# What every connection sets on the server.
SERVER_SETTINGS = {
    "timezone": "UTC",
    # asyncpg prepares every statement; after five runs PostgreSQL may switch to a
    # generic plan, which for the catalog's IN-list filters scans far more rows
    # (measured: a count went from 9 ms to 25 ms). Plan per call.
    "plan_cache_mode": "force_custom_plan",
}


def create_engine(settings: Settings, *, database_url: str | None = None) -> AsyncEngine:
    """An engine on the configured (or given) database, counting statements per request."""
    url = database_url or settings.database_url
    if url is None:
        raise ValueError("DATABASE_URL is not set and no embedded server was started")
    # Looked up at call time, so that tracing (core/tracing.py) can instrument it.
    engine = sa_asyncio.create_async_engine(
        url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_pre_ping=False,
        pool_timeout=settings.db_pool_timeout_seconds,
        echo=settings.db_echo,
        connect_args={
            "timeout": settings.db_connect_timeout_seconds,
            "command_timeout": settings.db_statement_timeout_seconds,
            "server_settings": {
                "application_name": "autobroker",
                "statement_timeout": str(int(settings.db_statement_timeout_seconds * 1000)),
                **SERVER_SETTINGS,
            },
        },
    )
    event.listen(engine.sync_engine, "before_cursor_execute", _count_statement)
    return engine


class Database:
    """The engine plus lazily opened connections, one per GraphQL operation."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncConnection]:
        """A connection inside one transaction, committed when the block ends cleanly."""
        async with self.engine.begin() as conn:
            yield conn

    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(sa.text("SELECT 1"))

    async def dispose(self) -> None:
        await self.engine.dispose()


class OperationConnection:
    """One database connection for one GraphQL operation, opened on first use.

    Resolvers of one operation share it (DataLoaders batch onto it, their statements
    taking turns: core/shared_connection.py), so an operation reads from one connection
    and returns it to the pool at the end. `release()` gives it back early (it reopens on
    the next read); `close()` is the end of the operation: a resolver still running after
    it (a sibling of one that failed) gets ConnectionReleased instead of a new connection.
    """

    __slots__ = ("_closed", "_conn", "_database", "_lock")

    def __init__(self, database: Database) -> None:
        self._database = database
        self._conn: SharedConnection | None = None
        self._lock = asyncio.Lock()
        self._closed = False

    @property
    def database(self) -> Database:
        """The database itself, for use-cases that open their own transaction."""
        return self._database

    async def get(self) -> AsyncConnection:
        if self._conn is None:
            # Resolvers run concurrently: only the first one opens the connection.
            async with self._lock:
                if self._closed:
                    raise ConnectionReleased
                if self._conn is None:
                    conn = SharedConnection(self._database.engine)
                    await conn.start()
                    self._conn = conn
        return self._conn

    async def for_writes(self) -> AsyncEngine:
        """The engine for a use-case that opens its own transaction.

        The operation's read connection goes back to the pool first (it reopens on the
        next read): a request never holds two connections, so concurrent writers cannot
        exhaust the pool waiting on each other.
        """
        await self.release()
        return self._database.engine

    async def release(self) -> None:
        """Give the connection back now; the next read opens another."""
        async with self._lock:
            conn, self._conn = self._conn, None
        if conn is not None:
            await conn.close()

    async def close(self) -> None:
        """The operation is over: give the connection back and open no other."""
        async with self._lock:
            self._closed = True
            conn, self._conn = self._conn, None
        if conn is not None:
            await conn.close()
