"""The last line of defence: an exception nothing else handled answers a coded JSON 500.

Starlette's own fallback answers plain text with no code. This middleware sits just
inside the request-id middleware (core/app.py), so its answer carries X-Request-ID, and
the body is the GraphQL error shape every client already reads: INTERNAL_SERVER_ERROR and
the request id, never the exception's text (that goes to the log, with the same id).
"""

from __future__ import annotations

import logging

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core.errors import ErrorCode
from core.logging import request_id_var

log = logging.getLogger("autobroker.errors")
INTERNAL_MESSAGE = "Internal server error; quote the requestId when reporting it."


def internal_error_body(request_id: str | None) -> bytes:
    extensions: dict[str, str] = {"code": ErrorCode.INTERNAL_SERVER_ERROR}
    if request_id:
        extensions["requestId"] = request_id
    return orjson.dumps({"errors": [{"message": INTERNAL_MESSAGE, "extensions": extensions}]})


class ErrorBoundaryMiddleware:
    """Answers any exception escaping the application with a coded JSON 500."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watch(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except Exception:
            log.exception("unhandled error in %s %s", scope.get("method"), scope.get("path"))
            if started:  # too late for another answer: the server ends the connection
                raise
            body = internal_error_body(request_id_var.get())
            await send(
                {
                    "type": "http.response.start",
                    "status": 500,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"content-length", str(len(body)).encode()),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": body})
