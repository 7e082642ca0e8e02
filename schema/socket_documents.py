"""Over a WebSocket, callers held to registered operations run registered ones only.

Who is held is the one policy of auth/registered_operations.py, as over HTTP and SSE
(core/graphql_view.py checks it there before anything runs): partners always, and with
REQUIRE_REGISTERED_OPERATIONS everyone but staff and, in development, GraphiQL (its mark
rides in the connection_init payload). A WebSocket operation comes as a text in a `subscribe` (or
legacy `start`) message, so here the text itself must be registered: its sha256 is looked
up in the caller's registry once it has parsed and validated, and an unknown one is
refused with PERSISTED_QUERY_NOT_ALLOWED before it runs (for a subscription, before the
stream starts, as the protocol's error message).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from graphql import GraphQLError
from starlette.websockets import WebSocket
from strawberry.extensions import SchemaExtension

from auth.registered_operations import (
    held_to_registered_operations,
    marked_by_graphiql,
    registry_of,
)
from core.persisted_queries import sha256_of
from schema.context import Context
from schema.errors import ErrorCode
from services.accounts.documents import find_document

REFUSAL = (
    "only registered operations may run: this operation is not in your manifest "
    "(register it with `autobroker register-operations`)"
)


class RegisteredOperationsOnSockets(SchemaExtension):
    async def on_validate(self) -> AsyncIterator[None]:
        # Before the yield, as the extensions before it (LimitedValidation) have validated
        # and those after it (the cost limiter) have not yet charged the caller.
        await self._check()
        yield

    async def _check(self) -> None:
        ctx = self.execution_context
        context = ctx.context
        if (
            ctx.pre_execution_errors
            or ctx.query is None
            or not isinstance(context, Context)
            or not isinstance(context.request, WebSocket)
        ):
            return
        principal = context.principal
        held = held_to_registered_operations(
            principal,
            required=context.settings.require_registered_operations,
            development=context.settings.is_development,
            graphiql=marked_by_graphiql(context.connection_params or {}),
        )
        if not held:
            return
        registry = registry_of(principal)
        body = await find_document(await context.db.get(), registry, sha256=sha256_of(ctx.query))
        if body is None:
            code = ErrorCode.PERSISTED_QUERY_NOT_ALLOWED.value
            ctx.pre_execution_errors = [GraphQLError(REFUSAL, extensions={"code": code})]
