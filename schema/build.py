"""Builds the one Schema every transport serves."""

from __future__ import annotations

from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import ParserCache, ValidationCache
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types

from schema.catalog import Dealer, Vehicle
from schema.catalog_query import CatalogQuery
from schema.extensions import apply_error_code

# Each feature contributes its own root fields; they are merged into one Query and one
# Mutation here, so features never edit each other's root types.
QUERY_PARTS: tuple[type, ...] = (CatalogQuery,)
MUTATION_PARTS: tuple[type, ...] = ()

PARSER_CACHE_SIZE = 1024
VALIDATION_CACHE_SIZE = 1024


class Schema(strawberry.Schema):
    """Strawberry's schema, coding every error instead of logging each one."""

    debug: bool = False

    def process_errors(self, errors: list[GraphQLError], execution_context: Any = None) -> None:
        # Expected errors (bad input, not found) are the client's business: no log line.
        # Unexpected ones are logged once, with the request id, by apply_error_code.
        for error in errors:
            apply_error_code(error, debug=self.debug)


def build_schema(*, debug: bool = False) -> Schema:
    """The schema with its parser and validation caches and error coding."""
    schema = Schema(
        query=merge_types("Query", QUERY_PARTS),
        mutation=merge_types("Mutation", MUTATION_PARTS) if MUTATION_PARTS else None,
        types=[Vehicle, Dealer],
        extensions=[
            lambda: ParserCache(maxsize=PARSER_CACHE_SIZE),
            lambda: ValidationCache(maxsize=VALIDATION_CACHE_SIZE),
        ],
        config=StrawberryConfig(auto_camel_case=True),
    )
    schema.debug = debug
    return schema
