"""Builds the one Schema every transport serves."""

from __future__ import annotations

from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import MaxTokensLimiter
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types

from core.settings import Settings
from core.tracing import tracing_enabled
from schema.accounts import User
from schema.accounts_root import AccountMutation, AccountQuery
from schema.catalog import Dealer, Vehicle
from schema.catalog_query import CatalogQuery
from schema.dealers_root import DealerMutation
from schema.extensions import apply_error_code
from schema.federation import (
    FEDERATION_VERSION,
    FederatedSchema,
    build_without_federation,
    client_sdl,
    possible_types,
)
from schema.feeds import FeedRun
from schema.feeds_root import FeedMutation, FeedQuery
from schema.input_limits import InputLimits
from schema.introspection import disable_introspection, without_suggestions
from schema.limits import DocumentLimits, LimitedParserCache, LimitedValidation
from schema.listings_root import ListingMutation
from schema.metrics import OperationMetrics
from schema.operation_scope import StreamedOperationScope
from schema.orders import Order
from schema.orders_root import OrderMutation, OrderQuery
from schema.payments import Payment, Refund
from schema.payments_root import PaymentMutation
from schema.photos_root import PhotoMutation
from schema.pricing_root import PricingMutation, PricingQuery
from schema.privacy_root import PrivacyMutation, PrivacyQuery
from schema.response_cache import ResponseCachePolicy
from schema.scalars import SCALAR_OVERRIDES
from schema.socket_documents import RegisteredOperationsOnSockets
from schema.subscriptions import Subscription
from schema.throttle import QueryCostLimiter, bucket_for
from schema.tracing import TracedOperations

# Each feature contributes its own root fields; they are merged into one Query and one
# Mutation here, so features never edit each other's root types.
QUERY_PARTS: tuple[type, ...] = (
    CatalogQuery,
    AccountQuery,
    PricingQuery,
    OrderQuery,
    FeedQuery,
    PrivacyQuery,
)
MUTATION_PARTS: tuple[type, ...] = (
    AccountMutation,
    ListingMutation,
    DealerMutation,
    PricingMutation,
    OrderMutation,
    PaymentMutation,
    FeedMutation,
    PhotoMutation,
    PrivacyMutation,
)

PARSER_CACHE_SIZE = 1024
VALIDATION_CACHE_SIZE = 1024


class Schema(strawberry.Schema):
    """Strawberry's schema, coding every error instead of logging each one."""

    debug: bool = False
    field_suggestions: bool = True

    def process_errors(self, errors: list[GraphQLError], execution_context: Any = None) -> None:
        # Expected errors (bad input, not found) are the client's business: no log line.
        # Unexpected ones are logged once, with the request id, by apply_error_code.
        for error in errors:
            apply_error_code(error, debug=self.debug)
            if not self.field_suggestions:
                error.message = without_suggestions(error.message)

    def as_str(self) -> str:
        """The SDL clients see (schema.graphql), without Federation's additions."""
        return client_sdl(self._schema)

    def possible_types(self) -> dict[str, list[str]]:
        """Apollo Client's `possibleTypes` (interface or union to its object types)."""
        return possible_types(self._schema)

    __str__ = as_str


class SubgraphSchema(Schema, FederatedSchema):
    """The same schema as an Apollo Federation v2 subgraph (schema/federation.py)."""


def build_schema(settings: Settings | None = None) -> Schema:
    """The schema with its limits, cost control, caches and error coding.

    Extension order matters: the token limit applies while parsing, the document limits
    run before validation (and so before the validation cache), cost after it.
    """
    settings = settings or Settings(_env_file=None)
    limits = DocumentLimits(
        max_depth=settings.max_query_depth,
        max_aliases=settings.max_query_aliases,
        max_fields=settings.max_query_fields,
        max_directives=settings.max_query_directives,
        max_characters=settings.max_query_characters,
        max_same_field=settings.max_query_same_field,
    )
    extensions: list[Any] = [
        StreamedOperationScope,  # first: the other extensions see the operation's context
        OperationMetrics,  # core/metrics.py: count, latency, outcome, SQL statements
        lambda: MaxTokensLimiter(max_token_count=settings.max_query_tokens),
        lambda: LimitedParserCache(settings.max_query_characters, maxsize=PARSER_CACHE_SIZE),
        lambda: LimitedValidation(limits, maxsize=VALIDATION_CACHE_SIZE),
        # schema/input_limits.py: after the document limits, before anything reads input.
        lambda: InputLimits(max_list_length=settings.max_input_list_length),
        RegisteredOperationsOnSockets,  # after validation, before cost is charged
        lambda: QueryCostLimiter(max_cost=settings.max_query_cost, limit_for=bucket_for),
    ]
    if settings.response_cache:
        extensions.append(ResponseCachePolicy)
    if not settings.introspection:
        extensions.append(disable_introspection)
    if tracing_enabled():  # OTEL_* variables (core/tracing.py)
        extensions.insert(1, TracedOperations)
    arguments: dict[str, Any] = {
        "query": merge_types("Query", QUERY_PARTS),
        "mutation": merge_types("Mutation", MUTATION_PARTS) if MUTATION_PARTS else None,
        "subscription": Subscription,
        "types": [Vehicle, Dealer, User, Order, Payment, Refund, FeedRun],
        "scalar_overrides": SCALAR_OVERRIDES,  # formats and @specifiedBy (schema/scalars.py)
        "extensions": extensions,
        "config": StrawberryConfig(
            auto_camel_case=True,
            batching_config=(
                {"max_operations": settings.max_batch_operations} if settings.batching else None
            ),
        ),
    }
    schema: Schema
    if settings.federation:
        schema = SubgraphSchema(**arguments, federation_version=FEDERATION_VERSION)
    else:
        schema = build_without_federation(Schema, **arguments)
    schema.debug = settings.debug
    schema.field_suggestions = settings.field_suggestions
    return schema
