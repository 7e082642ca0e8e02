"""Builds the one Schema every transport serves."""

from __future__ import annotations

import strawberry
from strawberry.extensions import ParserCache, ValidationCache
from strawberry.schema.config import StrawberryConfig

from schema.catalog import Dealer, Vehicle
from schema.extensions import CodedErrors
from schema.query import Query

PARSER_CACHE_SIZE = 1024
VALIDATION_CACHE_SIZE = 1024


def build_schema(*, debug: bool = False) -> strawberry.Schema:
    """The schema with its caches and error coding."""
    return strawberry.Schema(
        query=Query,
        types=[Vehicle, Dealer],
        extensions=[
            lambda: CodedErrors(debug=debug),
            lambda: ParserCache(maxsize=PARSER_CACHE_SIZE),
            lambda: ValidationCache(maxsize=VALIDATION_CACHE_SIZE),
        ],
        config=StrawberryConfig(auto_camel_case=True),
    )
