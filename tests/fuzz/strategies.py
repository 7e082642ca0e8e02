"""Documents generated from the live schema: queries and mutations (one root field, or
several), whose IDs are real global IDs of every type as well as garbage, and whose
custom scalars (Decimal, DateTime, Date) take valid and hostile values alike."""

from __future__ import annotations

import base64
from functools import lru_cache

import hypothesis.strategies as st
from graphql import GraphQLObjectType, build_schema
from hypothesis_graphql import mutations, nodes, queries

from schema.build import build_schema as build_api_schema

NODE_TYPES = ("Vehicle", "Dealer", "User", "Order", "Quote", "Payment", "Refund", "FeedRun")
ROLES = ("anonymous", "buyer", "dealer", "partner", "staff")


def global_id(type_name: str, key: int | str) -> str:
    return base64.urlsafe_b64encode(f"{type_name}:{key}".encode()).rstrip(b"=").decode()


HOSTILE_TEXT = (
    "",
    "\x00",
    "a\x00b",
    "' OR 1=1 --",
    '"; DROP TABLE vehicle; --',
    "%_\\",
    '{"$ne": null}',
    "\u202eevil\u202c",
    "zero\u200bwidth\ufeff",
    "😀" * 50,
    "x" * 5000,
    "http://0x7f000001:8000/metrics",
    "../../../../etc/passwd",
)
DECIMALS = ("0", "18990.00", "-1", "0.001", "1e999999999", "9" * 5000, "NaN", "-Infinity",
            "1e-999999", "12,5", "")  # fmt: skip
DATE_TIMES = ("2026-11-22T09:30:00+00:00", "2026-11-22T09:30:00", "9999-12-31T23:59:59Z",
              "0001-01-01T00:00:00+14:00", "2026-13-45T99:99:99Z", "now", "")  # fmt: skip
DATES = ("2021-03-15", "2021-02-30", "0000-00-00", "99999-01-01", "")


def _ids() -> st.SearchStrategy[str]:
    real = st.builds(global_id, st.sampled_from(NODE_TYPES), st.integers(min_value=0, max_value=60))
    odd = st.builds(global_id, st.sampled_from(NODE_TYPES), st.sampled_from(HOSTILE_TEXT))
    return st.one_of(
        real, real, odd, st.sampled_from(("!!", "", "\x00", "Vmk=")), st.text(max_size=30)
    )


def custom_scalars() -> dict[str, st.SearchStrategy[object]]:
    return {
        "ID": _ids().map(nodes.String),
        "Decimal": st.sampled_from(DECIMALS).map(nodes.String),
        "DateTime": st.sampled_from(DATE_TIMES).map(nodes.String),
        "Date": st.sampled_from(DATES).map(nodes.String),
    }


@lru_cache(maxsize=1)
def schema_sdl() -> str:
    """The SDL clients see: what the fuzzer generates documents from."""
    return build_api_schema().as_str()


def _root_fields(type_name: str) -> list[str]:
    root = build_schema(schema_sdl()).get_type(type_name)
    assert isinstance(root, GraphQLObjectType)
    return sorted(root.fields)


def documents() -> st.SearchStrategy[str]:
    """A query or a mutation: several root fields, or exactly one."""
    sdl, scalars = schema_sdl(), custom_scalars()
    several = st.one_of(
        queries(sdl, custom_scalars=scalars), mutations(sdl, custom_scalars=scalars)
    )
    single_query = st.sampled_from(_root_fields("Query")).flatmap(
        lambda name: queries(sdl, fields=[name], custom_scalars=scalars)
    )
    single_mutation = st.sampled_from(_root_fields("Mutation")).flatmap(
        lambda name: mutations(sdl, fields=[name], custom_scalars=scalars)
    )
    return st.one_of(several, single_query, single_mutation)  # type: ignore[return-value]
