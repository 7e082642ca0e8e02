"""Each streamed operation gets its own database connection and DataLoaders.

Strawberry makes one context per WebSocket and hands it to every operation the socket
runs, for as long as it stays open. Left so, a socket would hold a pooled connection from
its first operation until it closes (a thousand idle subscribers, a thousand connections)
and its DataLoaders would serve rows cached hours ago. This extension gives each
operation a copy of the socket's context (same principal, same connection_init payload)
with a connection and loaders of its own, gives the connection back to the pool once the
operation has executed and after each result it streams, and, when a result did read
through them, starts fresh loaders for the next one (building loaders for every event of
every subscriber would cost more than delivering it).

A subscription over Server-Sent Events (core/graphql_sse.py) outlives the HTTP request
that started it, so it is treated the same way from its execution on. Queries and
mutations over HTTP keep the context the view made (one per request, one connection for
all the operations of a batch).
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.websockets import WebSocket
from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType

from core.db import Database, OperationConnection
from loaders import Loaders
from schema.context import Context


class _ScopedConnection(OperationConnection):
    """An operation's connection that remembers whether anything read through it."""

    __slots__ = ("used",)

    def __init__(self, database: Database) -> None:
        super().__init__(database)
        self.used = False

    async def get(self) -> AsyncConnection:
        self.used = True
        return await super().get()


class StreamedOperationScope(SchemaExtension):
    """Per-operation connections and loaders for WebSocket operations and SSE subscriptions."""

    _scoped: Context | None = None
    _connection: _ScopedConnection | None = None

    def _scope(self, shared: Context) -> Context:
        self._connection = connection = _ScopedConnection(shared.db.database)
        self._scoped = dataclasses.replace(
            shared, db=connection, loaders=Loaders.create(connection)
        )
        return self._scoped

    async def on_operation(self) -> AsyncIterator[None]:
        ctx = self.execution_context
        shared = ctx.context
        if isinstance(shared, Context) and isinstance(shared.request, WebSocket):
            ctx.context = self._scope(shared)
        try:
            yield
        finally:
            if self._connection is not None:
                await self._connection.close()

    async def on_execute(self) -> AsyncIterator[None]:
        ctx = self.execution_context
        subscription = ctx.operation_type is OperationType.SUBSCRIPTION
        shared = ctx.context
        if subscription and self._scoped is None and isinstance(shared, Context):
            ctx.context = self._scope(shared)  # over HTTP: read by the stream, not the request
        yield
        # For a subscription, execution was starting the stream (permission checks, the
        # first reads): its events come later, each with a clean slate. A query or
        # mutation is over; on_operation closes its connection.
        if subscription:
            await self._release()

    async def on_stream_result(self, result: Any) -> AsyncIterator[None]:
        yield
        await self._release()

    async def _release(self) -> None:
        connection, scoped = self._connection, self._scoped
        if connection is None or scoped is None or not connection.used:
            return
        await connection.release()
        connection.used = False
        scoped.loaders = Loaders.create(connection)  # nothing cached from the last result
