"""The Strawberry ASGI view: typed context, one connection per operation, orjson."""

from __future__ import annotations

import contextvars
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import Any

import orjson
import strawberry
from graphql import GraphQLError, OperationType, parse
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.websockets import WebSocket
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http import GraphQLHTTPResponse
from strawberry.types import ExecutionResult
from strawberry.types.unset import UNSET, UnsetType

from auth.backend import AuthenticationFailed, Authenticator
from auth.principal import ANONYMOUS, Principal, PrincipalKind
from auth.registered_operations import (
    held_to_registered_operations,
    marked_by_graphiql,
    registry_of,
)
from core import metrics
from core.cors import OriginPolicy
from core.db import Database, OperationConnection
from core.errors import ErrorCode
from core.event_streams import EventStreamResponse
from core.graphiql import render_graphiql_page
from core.graphql_http import (
    Admission,
    HTTPError,
    current_exchange,
    error_result,
    http_cache_headers,
)
from core.graphql_sse import EventStreamGraphQL
from core.graphql_ws import OpenSockets, configure_websockets
from core.idempotency import (
    IdempotencyConflict,
    IdempotencyStore,
    StoredResponse,
    fingerprint,
    valid_key,
)
from core.logging import request_id_var
from core.media_types import negotiate
from core.order_events_hub import OrderEventsHub
from core.persisted_queries import PersistedQueryStore, sha256_of
from core.rate_limit import RateLimiter
from core.response_cache import (
    HIT_COST,
    Plan,
    ResponseCache,
    begin,
    cache_key,
    current_plan,
    document_identity,
    end,
)
from core.settings import Settings
from loaders import Loaders
from schema.context import Context
from schema.cost import find_operation
from schema.extensions import apply_error_code
from schema.throttle import bucket_for
from services.accounts.documents import find_document
from services.payments.gateway import PaymentGateway
from services.pricing.rules import RULES_VERSION

# connection_ack carries no payload.
_NO_ACK_PAYLOAD: UnsetType = UNSET


def _principal_of(connection: Request | WebSocket) -> Principal:
    # Set by AuthenticationMiddleware (auth/backend.py); absent when mounted without it.
    user = connection.scope.get("user")
    return user if isinstance(user, Principal) else ANONYMOUS


# The contexts an HTTP request created, so their connections close when it ends.
_request_contexts: contextvars.ContextVar[list[Context] | None] = contextvars.ContextVar(
    "graphql_request_contexts", default=None
)


async def _close_all(contexts: list[Context]) -> None:
    for context in contexts:
        await context.db.close()


def _document_id(request: Any) -> str | None:
    """The trusted document named by the request: `documentId` in the body or the URL."""
    if request.method == "GET":
        value = request.query_params.get("documentId")
    else:
        payload = _json_object(request)
        value = payload.get("documentId") if payload is not None else None
    return value if isinstance(value, str) and value else None


_PARSED_BODY = "autobroker.graphql_body"  # request scope key: the body, decoded once


def _json_object(request: Request) -> dict[str, Any] | None:
    """The POST body as a JSON object (None: not one, or a batch). Decoded once per
    request: the response cache, idempotency and the trusted-documents gate all read it."""
    if _PARSED_BODY not in request.scope:
        try:
            payload = orjson.loads(request._body)  # read and size-checked by HTTPGraphQL
        except (AttributeError, orjson.JSONDecodeError):
            payload = None
        request.scope[_PARSED_BODY] = payload if isinstance(payload, dict) else None
    parsed: dict[str, Any] | None = request.scope[_PARSED_BODY]
    return parsed


def _operation_request(request: Request) -> dict[str, Any] | None:
    """The request's single operation as the GraphQL-over-HTTP parameters (None: a batch,
    or parameters that do not parse; execution will say what is wrong)."""
    if request.method == "POST":
        return _json_object(request)
    params = request.query_params
    payload: dict[str, Any] = {
        name: params.get(name) for name in ("query", "operationName", "documentId")
    }
    try:
        for name in ("variables", "extensions"):
            raw = params.get(name)
            payload[name] = orjson.loads(raw) if raw else None
    except orjson.JSONDecodeError:
        return None
    return payload


def _well_formed(payload: dict[str, Any]) -> bool:
    """Parameters of the types GraphQL over HTTP requires (else execution refuses them)."""
    return (
        isinstance(payload.get("query"), str | None)
        and isinstance(payload.get("operationName"), str | None)
        and isinstance(payload.get("variables"), dict | None)
        and isinstance(payload.get("extensions"), dict | None)
    )


def _persisted_hash(payload: dict[str, Any]) -> Any:
    extensions = payload.get("extensions")
    persisted = extensions.get("persistedQuery") if isinstance(extensions, dict) else None
    return persisted.get("sha256Hash") if isinstance(persisted, dict) else None


def _is_mutation(payload: dict[str, Any]) -> bool:
    query = payload.get("query")
    if not isinstance(query, str):
        return False
    try:
        document = parse(query)
    except GraphQLError:
        return False
    name = payload.get("operationName")
    operation = find_operation(document, name if isinstance(name, str) else None)
    return operation is not None and operation.operation is OperationType.MUTATION


@dataclass(frozen=True, slots=True)
class _BucketCaller:
    """What `bucket_for` reads of a context, before any context exists."""

    settings: Settings
    principal: Principal
    request: Request


class GraphQLView(EventStreamGraphQL):
    def __init__(
        self,
        schema: strawberry.Schema,
        *,
        settings: Settings,
        database: Database,
        redis: Any,
        authenticator: Authenticator | None = None,
        order_events: OrderEventsHub | None = None,
        payments: PaymentGateway | None = None,
    ) -> None:
        super().__init__(
            schema,
            graphql_ide="graphiql" if settings.graphiql else None,
            keep_alive_seconds=settings.sse_keep_alive_seconds,
            max_query_tokens=settings.max_query_tokens,
        )
        # Timeouts, keep-alive, caps and the registry of open sockets (core/graphql_ws.py).
        self.open_sockets: OpenSockets = configure_websockets(self, settings)
        # Browser origins allowed over HTTP (CORS, in core/app.py) and WebSocket alike.
        self.origin_policy = OriginPolicy.from_settings(settings)
        self.order_events = order_events
        self.payments = payments
        self.settings = settings
        self.database = database
        self.redis = redis
        self.authenticator = authenticator
        self.rate_limiter = RateLimiter(redis)
        self.persisted_queries = PersistedQueryStore(redis)
        self.max_body_bytes = settings.max_body_bytes
        self.max_json_depth = settings.max_json_depth
        self.get_query_text = settings.get_query_text
        self.idempotency = IdempotencyStore(
            database.engine, retention=timedelta(seconds=settings.idempotency_retention_seconds)
        )
        self.response_cache = (
            ResponseCache(redis, ttl_seconds=settings.response_cache_seconds)
            if settings.response_cache
            else None
        )

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket | None = None
    ) -> Context:
        connection = OperationConnection(self.database)
        context = Context(
            request=request,
            response=response,
            settings=self.settings,
            db=connection,
            redis=self.redis,
            loaders=Loaders.create(connection),
            request_id=request_id_var.get(),
            rate_limiter=self.rate_limiter,
            principal=_principal_of(request),
            order_events=self.order_events,
            payments=self.payments,
        )
        opened = _request_contexts.get()
        if opened is not None:
            opened.append(context)  # its connection is closed when the request ends
        return context

    async def run_once(self, request: Request, proceed: Callable[[], Awaitable[Any]]) -> Any:
        """Mutations sent with an Idempotency-Key run once (core/idempotency.py)."""
        key = request.headers.get("idempotency-key")
        if key is None:
            return await proceed()
        if not valid_key(key):
            raise HTTPError(400, "Idempotency-Key: 1 to 200 printable ASCII characters")
        payload = _json_object(request)
        if payload is None or not _is_mutation(payload):
            return await proceed()
        principal = _principal_of(request)
        client = request.client
        identity = (
            principal.identity
            if principal.is_authenticated
            else f"ip:{client.host if client else '-'}"
        )
        try:
            replay = await self.idempotency.begin(identity, key, fingerprint(payload))
        except IdempotencyConflict as conflict:
            return JSONResponse(
                {
                    "errors": [
                        {"message": str(conflict), "extensions": {"code": ErrorCode.CONFLICT}}
                    ]
                },
                status_code=409,
            )
        if replay is not None:
            return Response(
                replay.body,
                status_code=replay.status_code,
                media_type=negotiate(request.headers.get("accept")) or "application/json",
                headers={"Idempotent-Replayed": "true"},
            )
        try:
            response = await proceed()
        except BaseException:
            await self.idempotency.release(identity, key)
            raise
        if (
            response.status_code >= 500
            or response.status_code == 429  # refused for now, not answered: retry later
            or not isinstance(response.body, bytes)
            or any(context.issues_credentials for context in _request_contexts.get() or ())
        ):
            await self.idempotency.release(identity, key)
        else:
            await self.idempotency.finish(
                identity, key, StoredResponse(response.status_code, response.body)
            )
        return response

    def _registered_only(self, request: Request, principal: Principal) -> bool:
        """Is this caller held to registered operations? (auth/registered_operations.py)"""
        return held_to_registered_operations(
            principal,
            required=self.settings.require_registered_operations,
            development=self.settings.is_development,
            graphiql=marked_by_graphiql(request.headers),
        )

    def _audience(self, request: Request, principal: Principal) -> str:
        """Who an answer is for, as far as the response cache is concerned."""
        if principal.kind is PrincipalKind.PARTNER:
            audience = f"partner:{principal.partner_id}"
        elif principal.kind is PrincipalKind.USER:
            audience = f"user:{principal.role}"
        else:
            audience = "anonymous"
        return audience + (":registered" if self._registered_only(request, principal) else "")

    async def serve(
        self, request: Request, exchange: Any, proceed: Callable[[], Awaitable[Any]]
    ) -> Any:
        """Answer a public catalog query from the response cache (core/response_cache.py)."""
        cache = self.response_cache
        directive = request.headers.get("cache-control", "").lower()
        key_header = request.headers.get("idempotency-key")
        if cache is None or "no-store" in directive or (key_header and not valid_key(key_header)):
            return await proceed()  # (a bad Idempotency-Key is refused there)
        payload = _operation_request(request)
        document = (
            document_identity(
                query=payload.get("query"),
                persisted_hash=_persisted_hash(payload),
                document_id=payload.get("documentId"),
            )
            if payload is not None and _well_formed(payload)
            else None
        )
        if payload is None or document is None or cache.known_uncacheable(document):
            return await proceed()  # execution answers (or refuses) it
        principal = _principal_of(request)
        key = cache_key(
            document,
            payload.get("operationName"),
            payload.get("variables"),
            self._audience(request, principal),
            rules_version=RULES_VERSION,
        )
        identity, limit = bucket_for(_BucketCaller(self.settings, principal, request))
        lookup = await cache.lookup(key, identity, limit)
        if lookup is None:  # Redis failed: answer without the cache
            return await proceed()
        if lookup.body is not None and "no-cache" not in directive:
            metrics.record_cache("response", hit=True)
            persisted = _persisted_hash(payload)
            store = self.persisted_queries
            if store and isinstance(persisted, str) and isinstance(payload.get("query"), str):
                # An APQ registration answered from the cache still registers: the text
                # matches its hash (its key says so) and an answer means it validated.
                await store.put(persisted, payload["query"])
            return self._cached_response(exchange, lookup.body, lookup.bucket, limit)
        metrics.record_cache("response", hit=False)
        plan = Plan(key=key, document=document, sequence=lookup.sequence)
        tokens = begin(plan)
        try:
            response = await proceed()
        finally:
            end(tokens)
        if plan.cacheable is not None:
            cache.learn(document, plan.cacheable)
        if plan.cacheable and response.status_code == 200 and await cache.store(plan):
            response.headers["x-response-cache"] = "MISS"
        return response

    @staticmethod
    def _cached_response(exchange: Any, body: bytes, bucket: Any, limit: Any) -> Response:
        headers = {"x-response-cache": "HIT"}
        if not bucket.allowed:
            retry = bucket.retry_after_seconds
            error = {
                "message": f"rate limit: this query costs {HIT_COST} and {bucket.available} "
                f"is available; retry in {retry} s",
                "extensions": {"code": ErrorCode.RATE_LIMITED, "retryAfter": retry},
            }
            headers.update(http_cache_headers(exchange, failed=True))
            headers["retry-after"] = str(retry)
            return Response(
                orjson.dumps({"errors": [error]}),
                status_code=429,
                media_type=exchange.media_type,
                headers=headers,
            )
        cost = {
            "requestedQueryCost": HIT_COST,
            "actualQueryCost": HIT_COST,
            "throttleStatus": {
                "maximumAvailable": limit.capacity,
                "currentlyAvailable": bucket.available,
                "restoreRate": limit.restore_rate,
            },
        }
        headers.update(http_cache_headers(exchange, failed=False))
        content = body[:-1] + b',"extensions":' + orjson.dumps({"cost": cost}) + b"}"
        return Response(content, media_type=exchange.media_type, headers=headers)

    async def admit_document(self, request: Any, context: Any, request_data: Any) -> Admission:
        """Partners (and, when required, everyone but staff) run registered operations only."""
        principal: Principal = context.principal
        if self._registered_only(request, principal):
            body = await self._registered_body(request, context, principal, request_data)
            if body is None:
                return Admission(
                    self._refused(
                        current_exchange(),
                        error_result(
                            "only registered operations may run: send documentId (or the "
                            "persisted query's sha256Hash) of an operation in your manifest",
                            ErrorCode.PERSISTED_QUERY_NOT_ALLOWED,
                        ),
                    )
                )
            request_data.query = body
            if request_data.extensions:
                request_data.extensions = {
                    k: v for k, v in request_data.extensions.items() if k != "persistedQuery"
                }
        return await super().admit_document(request, context, request_data)

    async def _registered_body(
        self, request: Any, context: Context, principal: Principal, request_data: Any
    ) -> str | None:
        registry = registry_of(principal)
        conn = await context.db.get()
        document_id = _document_id(request)
        if document_id is not None:
            if document_id.startswith("sha256:"):
                body = await find_document(
                    conn, registry, sha256=document_id.removeprefix("sha256:")
                )
            else:
                body = await find_document(conn, registry, document_id=document_id)
        else:
            persisted = (request_data.extensions or {}).get("persistedQuery")
            digest = persisted.get("sha256Hash") if isinstance(persisted, dict) else None
            if not isinstance(digest, str) and isinstance(request_data.query, str):
                digest = sha256_of(request_data.query)
            body = (
                await find_document(conn, registry, sha256=digest)
                if isinstance(digest, str)
                else None
            )
        if body is not None and request_data.query not in (None, body):
            return None  # a text beside the id must be the registered text itself
        return body

    def is_websocket_origin_allowed(self, request: WebSocket, origin: str) -> bool:
        return self.origin_policy.allows(origin)

    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:
        """Authenticate the connection_init payload; a bad credential closes the socket."""
        if self.authenticator is None:
            return _NO_ACK_PAYLOAD
        try:
            principal = await self.authenticator.authenticate_payload(
                context.connection_params or {}
            )
        except AuthenticationFailed as error:
            raise ConnectionRejectionError(
                {"message": error.message, "extensions": {"code": ErrorCode.UNAUTHENTICATED}}
            ) from None
        if principal is not None:
            context.principal = principal
        return _NO_ACK_PAYLOAD

    async def run(self, request: Any, context: Any = UNSET, root_value: Any = UNSET) -> Any:
        if isinstance(request, WebSocket):
            return await super().run(request, context, root_value)
        opened: list[Context] = []
        token = _request_contexts.set(opened)
        response = None
        try:
            response = await super().run(request, context, root_value)
            return response
        finally:
            _request_contexts.reset(token)
            if isinstance(response, EventStreamResponse):
                response.after(partial(_close_all, opened))  # the stream still reads
            else:
                await _close_all(opened)

    async def process_result(
        self, request: Request, result: ExecutionResult
    ) -> GraphQLHTTPResponse:
        # Schema.process_errors codes errors as they happen; this catches any path that
        # bypasses it, so no error ever leaves without a code.
        for error in result.errors or ():
            apply_error_code(error, debug=self.settings.debug)
        metrics.record_errors((error.extensions or {}).get("code") for error in result.errors or ())
        plan = current_plan()
        if plan is not None and plan.cacheable and not result.errors and result.data is not None:
            plan.body = orjson.dumps({"data": result.data})  # what the cache keeps
        return await super().process_result(request, result)

    async def render_graphql_ide(self, request: Request) -> HTMLResponse:
        return HTMLResponse(render_graphiql_page(endpoint=str(request.url.path)))

    def encode_json(self, data: object) -> bytes:
        return orjson.dumps(data)
