"""GraphQL over Server-Sent Events: the graphql-sse protocol's distinct connections mode.

For clients and networks where WebSockets are blocked. A request is a GraphQL-over-HTTP
request (POST, or GET for queries and subscriptions) that accepts `text/event-stream`;
it passes every rule a plain HTTP request passes (core/graphql_http.py: body size and
media type, automatic persisted queries; core/graphql_view.py: authentication from the
Authorization or X-API-Key header, trusted documents, Idempotency-Key, the response
cache), and the schema's own (limits, cost and rate limit, permissions).

- A subscription streams: one `next` event per result, `complete` when it ends (as
  orderStatusChanged does at the end of an order's lifecycle), a `: ping` comment every
  SSE_KEEP_ALIVE_SECONDS in between. Closing the connection ends it: its Redis
  subscription and database connection are released at once.
- A query or mutation runs as over plain HTTP. A client that accepts only
  `text/event-stream` gets the answer as one `next` event, then `complete`; one that
  also accepts JSON (urql, for instance) gets JSON, as GraphQL over HTTP says.
- Refusals before execution (syntax, validation, limits, cost, rate limit, trusted
  documents, a malformed body) come, as the protocol requires, as a `next` event with
  the coded errors on a 200 stream. Only refusals of the HTTP exchange itself keep their
  status and JSON body: 401 (a bad credential, refused before the view), 405, 413, 415,
  and 5xx.
- On shutdown every stream ends without `complete` (core/event_streams.py): the client
  reconnects and resumes with `afterSequence`.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Mapping
from contextlib import aclosing
from typing import Any

from graphql import GraphQLError, OperationDefinitionNode, OperationType, parse
from starlette.requests import Request
from starlette.responses import Response
from strawberry.http import GraphQLRequestData
from strawberry.http.streaming import SSETransport
from strawberry.subscriptions import (
    GRAPHQL_SSE_PROTOCOL,
    GRAPHQL_TRANSPORT_WS_PROTOCOL,
    GRAPHQL_WS_PROTOCOL,
)
from strawberry.types.graphql import OperationType as StrawberryOperationType

from core.event_streams import (
    EventStreamResponse,
    OpenStreams,
    as_event_stream,
    comment,
    event,
)
from core.graphql_http import HTTPGraphQL, failed_before_execution
from core.media_types import JSON, negotiate, only_event_stream

# The exchange's own refusals, which keep their HTTP status over SSE as well.
HTTP_STATUSES_KEPT = frozenset({401, 405, 413, 415})
SSE_REQUEST = "sse"  # Strawberry's name for a request that asked for an event stream


def kept_alive_transport(seconds: float) -> type[SSETransport]:
    class KeptAliveSSETransport(SSETransport):
        """Strawberry's SSE transport, its keep-alive from the settings, its lines ended
        by LF alone as the complete answers' (urql's SSE reader splits events at a blank
        LF line only)."""

        def __init__(self) -> None:
            super().__init__(heartbeat_interval=seconds)

        def encode_event(self, event_name: str, data: str | None = None) -> str:
            return event(event_name, (data or "").encode()).decode()

        def encode_comment(self, text: str) -> str:
            return comment(text).decode()

    return KeptAliveSSETransport


def is_subscription(query: str | None, operation_name: str | None, max_tokens: int) -> bool:
    """Whether the document's chosen operation is a subscription (False when it does not
    parse: execution then reports why)."""
    if not query:
        return False
    try:
        document = parse(query, no_location=True, max_tokens=max_tokens)
    except GraphQLError:
        return False
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    chosen = [
        operation
        for operation in operations
        if operation_name is None or (operation.name and operation.name.value == operation_name)
    ]
    return len(chosen) == 1 and chosen[0].operation is OperationType.SUBSCRIPTION


class EventStreamGraphQL(HTTPGraphQL):
    """The HTTP view, also speaking graphql-sse."""

    def __init__(
        self,
        schema: Any,
        *,
        graphql_ide: Any,
        keep_alive_seconds: float,
        max_query_tokens: int,
    ) -> None:
        super().__init__(
            schema,
            graphql_ide=graphql_ide,
            subscription_protocols=(
                GRAPHQL_TRANSPORT_WS_PROTOCOL,
                GRAPHQL_WS_PROTOCOL,
                GRAPHQL_SSE_PROTOCOL,
            ),
        )
        self.stream_transport_classes_by_protocol = {
            GRAPHQL_SSE_PROTOCOL: kept_alive_transport(keep_alive_seconds)
        }
        self.max_query_tokens = max_query_tokens
        self.open_streams = OpenStreams()

    def media_type_for(self, accept: str | None) -> str | None:
        # A complete answer to an events-only client is made as JSON, then framed.
        if only_event_stream(accept):
            return JSON
        return negotiate(accept)

    async def respond(self, request: Request) -> Response:
        response = await super().respond(request)
        if (
            only_event_stream(request.headers.get("accept"))
            and not isinstance(response, EventStreamResponse)
            and (response.media_type or response.headers.get("content-type", "")).startswith(
                "application/"
            )
            and response.status_code not in HTTP_STATUSES_KEPT
            and response.status_code < 500
        ):
            return as_event_stream(response)
        return response

    async def execute_operation(
        self,
        request: Any,
        request_adapter: Any,
        request_data: GraphQLRequestData | list[GraphQLRequestData],
        context: Any,
        root_value: Any,
        sub_response: Any,
    ) -> Any:
        if isinstance(request_data, list) or request_data.protocol != SSE_REQUEST:
            return await super().execute_operation(
                request, request_adapter, request_data, context, root_value, sub_response
            )
        admission = await self.admit_document(request, context, request_data)
        if admission.refusal is not None:
            return admission.refusal
        if not is_subscription(
            request_data.query, request_data.operation_name, self.max_query_tokens
        ):
            return await self.execute_admitted(
                request_adapter.method, context, root_value, request_data, admission
            )
        stream = await self.schema.stream(
            request_data.query,
            variable_values=request_data.variables,
            context_value=context,
            root_value=root_value,
            operation_name=request_data.operation_name,
            operation_extensions=request_data.extensions,
            allowed_operation_types=(StrawberryOperationType.SUBSCRIPTION,),
        )
        if admission.register_as is None or self.persisted_queries is None:
            return stream
        store, digest, text = self.persisted_queries, admission.register_as, request_data.query
        assert text is not None  # a hash was checked against it
        return _registering(stream, lambda: store.put(digest, text))

    async def create_streaming_response(
        self,
        request: Any,
        stream: Callable[[], AsyncIterator[str]],
        sub_response: Response,
        headers: Mapping[str, str],
    ) -> Response:
        return EventStreamResponse(
            stream(),
            streams=self.open_streams,
            status_code=sub_response.status_code or 200,
            headers={**sub_response.headers, **headers},
        )


async def _registering(
    stream: AsyncGenerator[Any, None], register: Callable[[], Awaitable[None]]
) -> AsyncIterator[Any]:
    """The stream; an automatic persisted query's text is registered once it validated."""
    first = True
    async with aclosing(stream):
        async for result in stream:
            if first and not failed_before_execution(result):
                await register()
            first = False
            yield result
