"""The HTTP edge of unavailability: 503 with Retry-After, never a 500 with a traceback.

`UnavailableMiddleware` wraps every HTTP route (GraphQL, webhooks, health): a failure
that core/availability.py calls unavailability, raised before the response started, is
answered 503 with `Retry-After` and a coded GraphQL error body. `mark_unavailable` does
the same for a GraphQL response whose errors say so (core/graphql_http.py).
"""

from __future__ import annotations

import logging
from typing import Any

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core.availability import RETRY_AFTER_SECONDS, unavailable_body, unavailable_dependency
from core.errors import ErrorCode

log = logging.getLogger("autobroker.availability")


def mark_unavailable(response: Any, errors: Any) -> None:
    """503 and Retry-After on `response` when one of `errors` is SERVICE_UNAVAILABLE."""
    for error in errors or ():
        extensions = error.get("extensions") if isinstance(error, dict) else None
        if isinstance(extensions, dict) and extensions.get("code") == ErrorCode.SERVICE_UNAVAILABLE:
            response.status_code = 503
            response.headers["retry-after"] = str(
                extensions.get("retryAfter") or RETRY_AFTER_SECONDS
            )
            return


class UnavailableMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as error:
            dependency = unavailable_dependency(error)
            if dependency is None or started:
                raise
            log.warning(
                "request refused: %s unavailable", dependency, extra={"error": repr(error)[:300]}
            )
            body = orjson.dumps(unavailable_body(dependency))
            await send(
                {
                    "type": "http.response.start",
                    "status": 503,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"content-length", str(len(body)).encode()),
                        (b"retry-after", str(RETRY_AFTER_SECONDS).encode()),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": body})
