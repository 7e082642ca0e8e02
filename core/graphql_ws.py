"""The two WebSocket protocols as Strawberry speaks them, and what the API adds.

graphql-transport-ws (Strawberry, as the protocol says): no connection_init within
`WS_CONNECTION_INIT_TIMEOUT_SECONDS` closes 4408, a second connection_init 4429, a
subscribe before the acknowledgement 4401, a subscribe reusing a live id 4409, a bad
credential 4403 (core/graphql_view.py), an unknown subprotocol 4406; `ping` is answered
by `pong`. A malformed message (not JSON, not an object, an unknown type, a subscribe
without a string id or query: core/ws_messages.py) closes 4400 naming what is wrong.

graphql-ws (legacy): the same connection_init timeout, closing 4408 (Strawberry sets none
for this protocol); a `ka` keep-alive every `WS_KEEP_ALIVE_SECONDS` once acknowledged;
queries and mutations run too (subscriptions-transport-ws sends every operation over its
socket; Strawberry's handler would refuse all but subscriptions). A malformed message is
answered, as subscriptions-transport-ws's own server does, and the socket stays open:
`error` for an operation id, else `connection_error`, coded BAD_USER_INPUT. A start
reusing a live id replaces that operation (that server's behaviour too).

Both:
- every message goes out as a text frame; one coming in larger than `MAX_BODY_BYTES`
  closes the socket with 1009 (core/ws_transport.py);
- at most `WS_MAX_SUBSCRIPTIONS_PER_CONNECTION` operations run at once on one socket; one
  more is answered by the protocol's error message, coded RATE_LIMITED (Strawberry's own
  refusal carries no code);
- every open socket is registered, so that the application can close them all with 1001
  (going away) when it stops. Under uvicorn this is the fallback: uvicorn itself closes
  each socket with 1012 (service restart) before the application's shutdown runs. Either
  way clients reconnect, to this replica or another, and resume with `afterSequence`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

from graphql import GraphQLError, GraphQLFormattedError
from starlette.websockets import WebSocketDisconnect
from strawberry.http.async_base_view import AsyncWebSocketAdapter
from strawberry.subscriptions.protocols.graphql_transport_ws import types as transport_ws
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)
from strawberry.subscriptions.protocols.graphql_ws import types as legacy_ws
from strawberry.subscriptions.protocols.graphql_ws.handlers import BaseGraphQLWSHandler

from core import metrics
from core.errors import ErrorCode
from core.settings import Settings
from core.ws_messages import legacy_ws_problem, transport_ws_problem
from core.ws_transport import MALFORMED, TextFrameWebSocket

GOING_AWAY = 1001
INIT_TIMEOUT = 4408


class OpenSockets:
    """The WebSockets a view is serving, to close them all on shutdown."""

    def __init__(self) -> None:
        self._sockets: set[AsyncWebSocketAdapter] = set()
        self._none_open = asyncio.Event()
        self._none_open.set()

    def __len__(self) -> int:
        return len(self._sockets)

    @contextlib.contextmanager
    def holding(self, socket: AsyncWebSocketAdapter) -> Iterator[None]:
        self._sockets.add(socket)
        self._none_open.clear()
        metrics.WEBSOCKET_CONNECTIONS.inc()
        try:
            yield
        finally:
            metrics.WEBSOCKET_CONNECTIONS.dec()
            self._sockets.discard(socket)
            if not self._sockets:
                self._none_open.set()

    async def close_all(self, *, code: int = GOING_AWAY, wait_seconds: float = 5.0) -> None:
        """Close every socket with `code`, then wait (a bounded time) for their handlers."""
        for socket in list(self._sockets):
            # Already closing, or its client gone: nothing to say to it.
            with contextlib.suppress(RuntimeError, OSError, WebSocketDisconnect):
                await socket.close(code, "server shutting down")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._none_open.wait(), wait_seconds)


def configure_websockets(view: Any, settings: Settings) -> OpenSockets:
    """Apply the WebSocket settings to a Strawberry view; the registry of its sockets."""
    view.keep_alive = True
    view.keep_alive_interval = settings.ws_keep_alive_seconds
    view.connection_init_wait_timeout = timedelta(
        seconds=settings.ws_connection_init_timeout_seconds
    )
    view.max_subscriptions_per_connection = settings.ws_max_subscriptions_per_connection
    view.open_sockets = OpenSockets()
    view.websocket_adapter_class = TextFrameWebSocket
    view.graphql_transport_ws_handler_class = TransportWSHandler
    view.graphql_ws_handler_class = LegacyWSHandler
    return view.open_sockets  # type: ignore[no-any-return]


def _limit_error(maximum: int) -> GraphQLFormattedError:
    return GraphQLError(
        f"at most {maximum} operations may run at once on one connection",
        extensions={"code": ErrorCode.RATE_LIMITED, "maximum": maximum},
    ).formatted


def _registry(view: Any) -> OpenSockets:
    sockets = getattr(view, "open_sockets", None)
    return sockets if isinstance(sockets, OpenSockets) else OpenSockets()


class TransportWSHandler(BaseGraphQLTransportWSHandler[Any, Any]):
    async def handle(self) -> None:
        with _registry(self.view).holding(self.websocket):
            await super().handle()

    async def handle_message(self, message: Any) -> None:
        problem = transport_ws_problem(message)
        if problem is not None:
            await self.handle_invalid_message(problem)  # closes 4400
            return
        if message["type"] == "connection_init" and message.get("payload") is None:
            message = {**message, "payload": {}}  # the protocol's payload is optional
        await super().handle_message(message)

    async def handle_subscribe(self, message: transport_ws.SubscribeMessage) -> None:
        maximum = self.max_subscriptions_per_connection
        if (
            self.connection_acknowledged
            and maximum is not None
            and message["id"] not in self.operations
            and len(self.operations) >= maximum
        ):
            await self.send_message(
                transport_ws.ErrorMessage(
                    id=message["id"], type="error", payload=[_limit_error(maximum)]
                )
            )
            return
        await super().handle_subscribe(message)


class _EveryOperation:
    """The schema as the legacy handler sees it: its `subscribe` runs any operation."""

    def __init__(self, schema: Any) -> None:
        self._schema = schema

    async def subscribe(self, **arguments: Any) -> Any:
        return await self._schema.stream(**arguments)


class LegacyWSHandler(BaseGraphQLWSHandler[Any, Any]):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.schema = _EveryOperation(self.schema)  # type: ignore[assignment]

    async def handle(self) -> None:
        timeout: timedelta = getattr(
            self.view, "connection_init_wait_timeout", timedelta(minutes=1)
        )
        timer = asyncio.create_task(self._close_unless_acknowledged(timeout.total_seconds()))
        try:
            with _registry(self.view).holding(self.websocket):
                await super().handle()
        finally:
            timer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await timer

    async def handle_message(self, message: Any) -> None:
        problem = (
            "a message must be valid JSON" if message is MALFORMED else legacy_ws_problem(message)
        )
        if problem is None:
            await super().handle_message(message)
            return
        refusal = GraphQLError(problem, extensions={"code": ErrorCode.BAD_USER_INPUT}).formatted
        op_id = message.get("id") if isinstance(message, dict) else None
        if isinstance(op_id, str) and op_id:
            await self.send_message(legacy_ws.ErrorMessage(type="error", id=op_id, payload=refusal))
        else:
            await self.send_message(
                legacy_ws.ConnectionErrorMessage(type="connection_error", payload=dict(refusal))
            )

    async def _close_unless_acknowledged(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
        if not self.connection_acknowledged:
            with contextlib.suppress(RuntimeError, OSError, WebSocketDisconnect):
                await self.websocket.close(INIT_TIMEOUT, "Connection initialisation timeout")

    async def handle_start(self, message: legacy_ws.StartMessage) -> None:
        maximum = self.max_subscriptions_per_connection
        if (
            self.connection_acknowledged
            and maximum is not None
            and message["id"] not in self.tasks
            and len(self.tasks) >= maximum
        ):
            await self.send_message(
                legacy_ws.ErrorMessage(
                    type="error", id=message["id"], payload=_limit_error(maximum)
                )
            )
            return
        await super().handle_start(message)
