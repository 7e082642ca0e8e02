"""The WebSocket under both GraphQL protocols: text frames out, bounded text frames in.

Strawberry's ASGI adapter sends whatever the view's JSON encoder returns, and the view's
encoder returns orjson's bytes (fast HTTP bodies), which a WebSocket carries as binary
frames. Browsers hand a binary frame to their clients as a Blob, and every client
library (graphql-ws, Apollo Client, urql, subscriptions-transport-ws, GraphiQL) then
fails on the first message. Both protocols say messages are text, so this adapter sends
text frames only.

Incoming messages are held to a size (the view's `max_body_bytes`, the limit of an HTTP
body): a larger one closes the socket with 1009 (message too big). A frame that is not
valid JSON is reported as `MALFORMED` to a handler that asks to see parsing errors
(the legacy protocol answers it and carries on) and raises otherwise.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Mapping
from json import JSONDecodeError
from typing import Any, Final

from starlette.websockets import WebSocketDisconnect, WebSocketState
from strawberry.asgi import ASGIWebSocketAdapter
from strawberry.http.exceptions import (
    NonJsonMessageReceived,
    NonTextMessageReceived,
    WebSocketDisconnected,
)

MESSAGE_TOO_BIG = 1009  # RFC 6455, 7.4.1


class _Malformed:
    """A frame that is not JSON, where the handler keeps the socket open for it."""

    def __repr__(self) -> str:
        return "MALFORMED"


MALFORMED: Final = _Malformed()


class TextFrameWebSocket(ASGIWebSocketAdapter):
    """Strawberry's ASGI WebSocket adapter with text frames and a message size limit."""

    async def send_json(self, message: Mapping[str, object]) -> None:
        try:
            await self.ws.send_text(self.view.encode_json_string(message))
        except WebSocketDisconnect as exc:
            raise WebSocketDisconnected from exc

    async def iter_json(self, *, ignore_parsing_errors: bool = False) -> AsyncGenerator[Any, None]:
        limit: int = getattr(self.view, "max_body_bytes", 1_000_000)
        try:
            while self.ws.application_state != WebSocketState.DISCONNECTED:
                message = await self.ws.receive()
                if message["type"] == "websocket.disconnect":
                    return
                text = message.get("text")
                if text is None:
                    raise NonTextMessageReceived
                # A character is at most 4 bytes of UTF-8: count bytes only near the limit.
                if len(text) * 4 > limit and len(text.encode()) > limit:
                    await self.close(MESSAGE_TOO_BIG, f"a message may be at most {limit} bytes")
                    return
                try:
                    decoded = self.view.decode_json(text)
                except JSONDecodeError as error:
                    if not ignore_parsing_errors:
                        raise NonJsonMessageReceived from error
                    decoded = MALFORMED
                yield decoded
        except WebSocketDisconnect:
            return
