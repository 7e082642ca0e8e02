"""The schema with and without Federation: what the switch adds is all Federation's, and
clients read the same SDL either way."""

from __future__ import annotations

from pathlib import Path

from graphql import GraphQLSchema

from core.settings import Settings
from schema.build import Schema, SubgraphSchema, build_schema
from schema.federation import FEDERATION_DIRECTIVES, FEDERATION_FIELDS, FEDERATION_TYPES

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "schema.graphql"


def _names(schema: GraphQLSchema) -> tuple[set[str], set[str], set[str]]:
    assert schema.query_type is not None
    return (
        set(schema.query_type.fields),
        set(schema.type_map),
        {directive.name for directive in schema.directives},
    )


def test_the_switch_adds_exactly_federations_fields_types_and_directives() -> None:
    federated = build_schema(Settings(federation=True, _env_file=None))
    plain = build_schema(Settings(federation=False, _env_file=None))
    assert isinstance(federated, SubgraphSchema)
    assert type(plain) is Schema
    fields, types, directives = _names(federated._schema)
    plain_fields, plain_types, plain_directives = _names(plain._schema)
    assert fields - plain_fields == FEDERATION_FIELDS
    assert types - plain_types == FEDERATION_TYPES
    assert directives - plain_directives == FEDERATION_DIRECTIVES
    assert (plain_fields - fields, plain_types - types, plain_directives - directives) == (
        set(),
        set(),
        set(),
    )


def test_clients_read_the_same_sdl_with_or_without_federation() -> None:
    committed = SCHEMA_FILE.read_text()
    for federation in (True, False):
        schema = build_schema(Settings(federation=federation, _env_file=None))
        assert schema.as_str() + "\n" == committed
        assert str(schema) + "\n" == committed
