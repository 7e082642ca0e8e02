"""The Strawberry ASGI view: typed context, one connection per operation, orjson."""

from __future__ import annotations

from typing import Any

import orjson
import strawberry
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLHTTPResponse
from strawberry.types import ExecutionResult

from core.db import Database, OperationConnection
from core.graphiql import render_graphiql_page
from core.logging import request_id_var
from core.settings import Settings
from loaders import Loaders
from schema.context import Context
from schema.extensions import apply_error_code

EXAMPLE_QUERY = """\
# Welcome to the Auto-Broker API. Press the run button to try this catalog query;
# open the documentation explorer (book icon) for the whole schema. Send an
# Authorization header from the Headers tab below.
query CatalogPage($filter: VehicleFilterInput, $first: Int = 10) {
  vehicles(filter: $filter, orderBy: {field: PRICE, direction: ASC}, first: $first) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges {
      cursor
      node {
        id vin make model trim year mileageKm fuel transmission bodyType
        price { amount currency }
        location { country city }
        dealer { id name city rating }
      }
    }
  }
}
"""
EXAMPLE_VARIABLES = (
    '{\n  "filter": {"fuel": ["ELECTRIC", "HYBRID"], "yearMin": 2019, "priceMax": "40000"}\n}'
)


class GraphQLView(GraphQL[Context, None]):
    def __init__(
        self,
        schema: strawberry.Schema,
        *,
        settings: Settings,
        database: Database,
        redis: Any,
    ) -> None:
        super().__init__(schema, graphql_ide="graphiql" if settings.graphiql else None)
        self.settings = settings
        self.database = database
        self.redis = redis

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket | None = None
    ) -> Context:
        connection = OperationConnection(self.database)
        return Context(
            request=request,
            response=response,
            settings=self.settings,
            db=connection,
            redis=self.redis,
            loaders=Loaders.create(connection),
            request_id=request_id_var.get(),
        )

    async def run(self, request: Any, context: Any = None, root_value: Any = None) -> Any:
        if isinstance(request, WebSocket):
            return await super().run(request)
        response = await self.get_sub_response(request)
        ctx = await self.get_context(request, response)
        try:
            return await super().run(request, context=ctx)
        finally:
            await ctx.db.close()

    async def process_result(
        self, request: Request, result: ExecutionResult
    ) -> GraphQLHTTPResponse:
        # Schema.process_errors codes errors as they happen; this catches any path that
        # bypasses it, so no error ever leaves without a code.
        for error in result.errors or ():
            apply_error_code(error, debug=self.settings.debug)
        return await super().process_result(request, result)

    async def render_graphql_ide(self, request: Request) -> HTMLResponse:
        return HTMLResponse(
            render_graphiql_page(
                endpoint=str(request.url.path),
                example_query=EXAMPLE_QUERY,
                example_variables=EXAMPLE_VARIABLES,
            )
        )

    def encode_json(self, data: object) -> bytes:
        return orjson.dumps(data)
