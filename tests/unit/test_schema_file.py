"""schema.graphql is the committed contract: it must match the code."""

from __future__ import annotations

from pathlib import Path

from schema.build import build_schema

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "schema.graphql"


def test_schema_graphql_is_current() -> None:
    assert SCHEMA_FILE.read_text() == build_schema().as_str() + "\n", (
        "schema.graphql is stale: run `uv run autobroker export-schema` and commit it"
    )


def test_every_type_and_field_of_the_catalog_is_documented_or_self_explanatory() -> None:
    sdl = build_schema().as_str()
    for name in ("type Vehicle implements Node", "interface Node", "type Money", "type PageInfo"):
        assert name in sdl
