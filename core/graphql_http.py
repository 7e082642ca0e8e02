"""GraphQL over HTTP as its specification says, on top of Strawberry's ASGI view.

- Media types: `application/graphql-response+json` when the client accepts it, else
  `application/json`; 406 when the client accepts neither (and no GraphiQL page).
- POST bodies must be `application/json` (415 otherwise), at most `max_body_bytes` (413).
  Together with "GET runs queries only", this is the CSRF defence: a cross-site form or
  `text/plain` POST is refused, and a JSON POST needs a CORS preflight.
- A mutation over GET is 405 with `Allow: POST`. With GET_QUERY_TEXT off (production's
  default) a GET may only name a persisted query (`extensions.persistedQuery` or
  `documentId`): one carrying a query's text is 405 too, so no link or image on another
  site can run an arbitrary query with a visitor's browser (CSRF).
- A subscription cannot run in a plain request: it is a request error (BAD_USER_INPUT,
  400 under `application/graphql-response+json`), as graphql-http's reference server
  answers it, saying where subscriptions are served (WebSocket, or Server-Sent Events:
  core/graphql_sse.py).
- A request that fails before execution (syntax, validation, variable coercion, cost,
  limits) has no `data` key; under `application/graphql-response+json` it is a 400.
- The request's JSON (body, or GET's `variables` and `extensions`) is decoded once, with
  limits (core/request_json.py); a body that is not one request object or a batch of
  them, too deep, or not UTF-8 is a coded 400 before anything else reads it.
- Automatic persisted queries (core/persisted_queries.py), by POST or GET.
- An answer holding a RATE_LIMITED error is a 429 with Retry-After (the longest wait it
  names), whichever limit refused: the cost budget or the sign-in throttle.
- GET responses carry cache headers: public for anonymous queries, so a CDN can keep them.
"""

from __future__ import annotations

import contextvars
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from cross_web import HTTPException
from graphql import GraphQLError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import MissingQueryError
from strawberry.http import GraphQLHTTPResponse
from strawberry.http.types import HTTPMethod
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType
from strawberry.types.unset import UNSET

from core.errors import ErrorCode
from core.media_types import GRAPHQL_RESPONSE_JSON, JSON, negotiate
from core.persisted_queries import (
    PersistedQueryError,
    PersistedQueryStore,
    parse_extension,
    sha256_of,
)
from core.request_json import (
    MalformedJSON,
    check_parameters,
    check_request_shape,
    decode_request_json,
)
from core.unavailable_http import mark_unavailable

GET_CACHE_SECONDS = 60
SUBSCRIPTIONS_ELSEWHERE = (
    "subscriptions are served over WebSocket (graphql-transport-ws, or the legacy "
    "graphql-ws) and Server-Sent Events (graphql-sse), not by a plain HTTP request"
)
GET_PERSISTED_ONLY = (
    "GET runs persisted queries only (extensions.persistedQuery.sha256Hash or documentId); "
    "send a query's text by POST"
)
# What a plain GET or POST may run; subscriptions are streamed elsewhere.
_PLAIN_REQUEST_OPERATIONS = {
    "GET": OperationType.from_http("GET") - {OperationType.SUBSCRIPTION},
    "POST": OperationType.from_http("POST") - {OperationType.SUBSCRIPTION},
}


class HTTPError(HTTPException):
    """An HTTP-level refusal, answered as a GraphQL error body with extra headers."""

    def __init__(
        self, status_code: int, reason: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(status_code, reason)
        self.headers = headers or {}


@dataclass(slots=True)
class _Exchange:
    media_type: str
    method: str
    anonymous: bool
    request_error: bool = False
    status: int | None = None


_exchange: contextvars.ContextVar[_Exchange | None] = contextvars.ContextVar(
    "graphql_http_exchange", default=None
)


# The POST body as decoded at the edge, so that Strawberry does not decode it again.
_decoded_body: contextvars.ContextVar[tuple[bytes, Any] | None] = contextvars.ContextVar(
    "graphql_decoded_body", default=None
)


def current_exchange() -> _Exchange | None:
    """The HTTP exchange being served (None outside one)."""
    return _exchange.get()


def error_result(message: str, code: ErrorCode) -> ExecutionResult:
    return ExecutionResult(
        data=None, errors=[GraphQLError(message, extensions={"code": code.value})]
    )


@dataclass(frozen=True, slots=True)
class Admission:
    """What `admit_document` decided: a refusal to answer with, or go ahead (and, for a
    new automatic persisted query, the hash to register its text under once it ran)."""

    refusal: ExecutionResult | None = None
    register_as: str | None = None


def failed_before_execution(result: ExecutionResult) -> bool:
    errors = result.errors or []
    return result.data is None and bool(errors) and all(e.path is None for e in errors)


class HTTPGraphQL(GraphQL[Any, None]):
    """Strawberry's view with the HTTP rules above."""

    max_body_bytes: int = 1_000_000
    max_json_depth: int = 64
    persisted_queries: PersistedQueryStore | None = None
    get_query_text: bool = True

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        response = await self.respond(Request(scope, receive))
        await response(scope, receive, send)

    async def respond(self, request: Request) -> Response:
        """The response to an HTTP request; a refusal of the exchange is a coded error."""
        try:
            response: Response = await self.run(request)
        except HTTPException as error:
            headers = getattr(error, "headers", {})
            response = JSONResponse(
                {
                    "errors": [
                        {"message": error.reason, "extensions": {"code": ErrorCode.BAD_USER_INPUT}}
                    ]
                },
                status_code=error.status_code,
                headers=headers,
                media_type=self.media_type_for(request.headers.get("accept")) or JSON,
            )
        return response

    def decode_json(self, data: str | bytes) -> object:
        cached = _decoded_body.get()
        if cached is not None and cached[0] is data:
            return cached[1]
        return decode_request_json(data, max_depth=self.max_json_depth)

    def parse_json(self, data: str | bytes) -> Any:
        try:
            return self.decode_json(data)
        except MalformedJSON as error:
            raise HTTPError(400, str(error)) from None

    def should_render_graphql_ide(self, request: Any) -> bool:
        # Only a browser asking for a page, and never a GET that carries an operation
        # (a persisted query comes by GET with `extensions` and no `query`).
        params = request.query_params
        return (
            request.method == "GET"
            and "text/html" in request.headers.get("accept", "")
            and params.get("query") is None
            and params.get("extensions") is None
        )

    async def run(self, request: Any, context: Any = UNSET, root_value: Any = UNSET) -> Any:
        if isinstance(request, WebSocket):
            return await super().run(request, context, root_value)
        if request.method not in ("GET", "POST"):
            raise HTTPError(405, "GraphQL accepts GET and POST", {"Allow": "GET, POST"})
        if (
            request.method == "GET"
            and not self.get_query_text
            and request.query_params.get("query") is not None
        ):
            raise HTTPError(405, GET_PERSISTED_ONLY, {"Allow": "POST"})
        accept = request.headers.get("accept")
        media_type = self.media_type_for(accept)
        wants_page = request.method == "GET" and "text/html" in (accept or "") and self.graphql_ide
        if media_type is None and not wants_page:
            raise HTTPError(406, f"can only produce {GRAPHQL_RESPONSE_JSON} or {JSON}")
        if request.method == "POST":
            await self._read_body(request)
        else:
            self._check_query_params(request)
        exchange = _Exchange(
            media_type=media_type or JSON,
            method=request.method,
            anonymous="authorization" not in request.headers and "x-api-key" not in request.headers,
        )
        token = _exchange.set(exchange)
        try:
            return await self.serve(
                request, exchange, lambda: self._execute(request, context, root_value)
            )
        finally:
            _exchange.reset(token)
            _decoded_body.set(None)

    async def _execute(self, request: Any, context: Any, root_value: Any) -> Any:
        if request.method == "POST":
            return await self.run_once(
                request, lambda: super(HTTPGraphQL, self).run(request, context, root_value)
            )
        return await super().run(request, context, root_value)

    def media_type_for(self, accept: str | None) -> str | None:
        """The media type of a complete answer for this Accept header (None: 406)."""
        return negotiate(accept)

    async def serve(
        self, request: Request, exchange: _Exchange, proceed: Callable[[], Awaitable[Any]]
    ) -> Any:
        """Where a request (its body read) is answered; a subclass may answer from a cache."""
        return await proceed()

    async def run_once(self, request: Request, proceed: Callable[[], Awaitable[Any]]) -> Any:
        """Where a POST (its body read) runs; a subclass may make it idempotent."""
        return await proceed()

    def _check_query_params(self, request: Request) -> None:
        params: dict[str, Any] = dict(request.query_params)
        for name in ("variables", "extensions"):
            if raw := params.get(name):
                params[name] = self.parse_json(raw)
        try:
            check_parameters(params)
        except MalformedJSON as error:
            raise HTTPError(400, str(error)) from None

    async def _read_body(self, request: Request) -> None:
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type != JSON:
            raise HTTPError(415, f"POST bodies must be {JSON}", {"Accept-Post": JSON})
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body_bytes:
            raise HTTPError(413, f"the body is larger than {self.max_body_bytes} bytes")
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > self.max_body_bytes:
                raise HTTPError(413, f"the body is larger than {self.max_body_bytes} bytes")
        request._body = raw = bytes(body)  # Starlette's cache: the view reads it from here
        decoded = self.parse_json(raw)
        try:
            check_request_shape(decoded)
        except MalformedJSON as error:
            raise HTTPError(400, str(error)) from None
        _decoded_body.set((raw, decoded))

    async def execute_single(
        self,
        request: Any,
        request_adapter: Any,
        sub_response: Any,
        context: Any,
        root_value: Any,
        request_data: Any,
    ) -> ExecutionResult:
        admission = await self.admit_document(request, context, request_data)
        if admission.refusal is not None:
            return admission.refusal
        return await self.execute_admitted(
            request_adapter.method, context, root_value, request_data, admission
        )

    async def admit_document(self, request: Any, context: Any, request_data: Any) -> Admission:
        """Settle the document to run: an automatic persisted query's text is looked up
        (or checked against its hash); a subclass adds its own rules."""
        exchange = _exchange.get()
        try:
            persisted = parse_extension(request_data.extensions)
        except PersistedQueryError as error:
            return Admission(
                self._refused(exchange, error_result(str(error), ErrorCode.BAD_USER_INPUT))
            )
        if persisted is None or self.persisted_queries is None:
            return Admission()
        if request_data.query is None:
            text = await self.persisted_queries.get(persisted.sha256)
            if text is None:
                result = error_result("PersistedQueryNotFound", ErrorCode.PERSISTED_QUERY_NOT_FOUND)
                return Admission(self._refused(exchange, result, status=200))
            request_data.query = text
            return Admission()
        if sha256_of(request_data.query) != persisted.sha256:
            message = "extensions.persistedQuery.sha256Hash does not match the query"
            return Admission(
                self._refused(exchange, error_result(message, ErrorCode.BAD_USER_INPUT))
            )
        return Admission(register_as=persisted.sha256)

    async def execute_admitted(
        self,
        method: HTTPMethod,
        context: Any,
        root_value: Any,
        request_data: Any,
        admission: Admission,
    ) -> ExecutionResult:
        """Run a query or mutation; a subscription is refused with a 400 naming where
        subscriptions run."""
        exchange = _exchange.get()
        try:
            result = await self.schema.execute(
                request_data.query,
                root_value=root_value,
                variable_values=request_data.variables,
                context_value=context,
                operation_name=request_data.operation_name,
                allowed_operation_types=_PLAIN_REQUEST_OPERATIONS[method],
                operation_extensions=request_data.extensions,
            )
        except InvalidOperationTypeError as error:
            if error.operation_type is OperationType.SUBSCRIPTION:
                return self._refused(
                    exchange, error_result(SUBSCRIPTIONS_ELSEWHERE, ErrorCode.BAD_USER_INPUT)
                )
            if method == "GET":
                raise HTTPError(405, "mutations are sent by POST", {"Allow": "POST"}) from None
            raise HTTPError(400, error.as_http_error_reason(method)) from None
        except CannotGetOperationTypeError as error:
            raise HTTPError(400, error.as_http_error_reason()) from None
        except MissingQueryError:
            raise HTTPError(400, "no GraphQL query in the request") from None
        if failed_before_execution(result):
            return self._refused(exchange, result)
        if admission.register_as is not None and self.persisted_queries is not None:
            await self.persisted_queries.put(admission.register_as, request_data.query)
        return result

    @staticmethod
    def _refused(
        exchange: _Exchange | None, result: ExecutionResult, *, status: int | None = None
    ) -> ExecutionResult:
        if exchange is not None:
            exchange.request_error = True
            exchange.status = status
        return result

    def create_response(
        self,
        response_data: GraphQLHTTPResponse | list[GraphQLHTTPResponse],
        sub_response: Response,
    ) -> Response:
        exchange = _exchange.get()
        single = response_data if isinstance(response_data, dict) else None
        if exchange is not None and single is not None and exchange.request_error:
            single.pop("data", None)  # a request error has no data entry at all
        response = super().create_response(response_data, sub_response)
        retry = _retry_after(response_data)
        if retry is not None:
            response.status_code = 429
            response.headers["retry-after"] = str(retry)
        if exchange is None:
            return response
        response.headers["content-type"] = exchange.media_type
        if single is not None and exchange.request_error and not sub_response.status_code:
            if exchange.status is not None:
                response.status_code = exchange.status
            elif exchange.media_type == GRAPHQL_RESPONSE_JSON:
                response.status_code = 400
        mark_unavailable(
            response,
            single.get("errors")
            if single is not None
            else [e for item in response_data for e in item.get("errors") or ()],  # type: ignore[union-attr]
        )
        failed = (
            exchange.request_error
            or response.status_code >= 400
            or (single is not None and bool(single.get("errors")))
        )
        response.headers.update(http_cache_headers(exchange, failed=failed))
        return response


def _retry_after(
    response_data: GraphQLHTTPResponse | list[GraphQLHTTPResponse],
) -> int | None:
    """The longest wait a RATE_LIMITED error in the answer names (None: none refused)."""
    answers: list[Any] = response_data if isinstance(response_data, list) else [response_data]
    waits: list[int] = []
    for answer in answers:
        for error in answer.get("errors") or ():
            extensions: Any = error.get("extensions")
            if isinstance(extensions, dict) and extensions.get("code") == ErrorCode.RATE_LIMITED:
                retry = extensions.get("retryAfter")
                waits.append(retry if isinstance(retry, int) and retry > 0 else 1)
    return max(waits) if waits else None


def http_cache_headers(exchange: _Exchange, *, failed: bool) -> dict[str, str]:
    """What shared caches may do with the answer: only a GET is cacheable, and only a
    successful one; publicly when nobody is signed in, else only by the caller."""
    if exchange.method != "GET":
        return {}
    if failed:
        control = "no-store"
    elif exchange.anonymous:
        control = f"public, max-age={GET_CACHE_SECONDS}"
    else:
        control = "private, no-cache"
    return {"cache-control": control, "vary": "Accept, Authorization, X-API-Key"}
