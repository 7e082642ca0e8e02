"""Apollo Federation v2: the schema as a subgraph, and the same schema without Federation.

Entity types declare their keys where they are defined, with
`strawberry.federation.type(keys=[...])`: Vehicle by `id` and by `vin`; Dealer, Order,
Payment and Quote by `id`, their global IDs. With `FEDERATION` on (for a router; off by
default, so that frontends and their code generators never see it) the schema is a
`FederatedSchema`: Strawberry adds `_service { sdl }` (the subgraph SDL, the
same text `autobroker export-schema --federation` writes) and
`_entities(representations:)`, answered by resolvers/entities.py.

Clients never need Federation: `client_sdl` prints the schema they see (schema.graphql)
without it, and with `FEDERATION` off `without_federation` leaves no trace of it (the
entity types' `@key` applications exist only in the Strawberry definitions, which only
the subgraph SDL prints).
"""

from __future__ import annotations

import warnings
from typing import Any, Final, TypeVar

import strawberry
from graphql import (
    GraphQLObjectType,
    GraphQLSchema,
    is_abstract_type,
    is_introspection_type,
    is_specified_directive,
    is_specified_scalar_type,
    print_directive,
    print_type,
)
from strawberry.federation.schema import FederationAny
from strawberry.printer import print_schema

from resolvers.entities import resolve_entities
from schema.context import Info

# The lowest version with everything the schema uses (@key): older routers and gateways
# compose it too. Strawberry refuses, at build time, a directive this version lacks.
FEDERATION_VERSION: Final = "2.0"

# What Strawberry's federation support adds to a schema: the root fields, their types,
# and the directives with their argument types.
FEDERATION_FIELDS = frozenset({"_entities", "_service"})
FEDERATION_TYPES = frozenset(
    {"_Any", "_Entity", "_Service", "_FieldSet", "link__Import", "link__Purpose"}
)
FEDERATION_DIRECTIVES = frozenset({"key", "link"})

PlainSchema = TypeVar("PlainSchema", bound=strawberry.Schema)


class FederatedSchema(strawberry.federation.Schema):
    """Strawberry's federation schema, resolving entities through the DataLoaders."""

    def entities_resolver(
        self, info: Info, representations: list[FederationAny]
    ) -> list[FederationAny]:
        # Strawberry's own resolver trusts every representation; ours checks each one
        # and answers a bad one with a coded error at its index.
        return resolve_entities(info, representations)  # type: ignore[return-value]

    def subgraph_sdl(self) -> str:
        """The SDL a router composes: with `@link`, `@key`, `_service` and `_entities`."""
        return print_schema(self)


def without_federation(schema: GraphQLSchema) -> GraphQLSchema:
    """`schema` less Federation's root fields, types and directives (same types otherwise)."""
    query = schema.query_type
    if query is not None and FEDERATION_FIELDS & query.fields.keys():
        query = GraphQLObjectType(
            query.name,
            {name: f for name, f in query.fields.items() if name not in FEDERATION_FIELDS},
            interfaces=query.interfaces,
            description=query.description,
            extensions=query.extensions,
        )
    return GraphQLSchema(
        query=query,
        mutation=schema.mutation_type,
        subscription=schema.subscription_type,
        types=[
            type_
            for name, type_ in schema.type_map.items()
            if name not in FEDERATION_TYPES and type_ is not schema.query_type
        ],
        directives=[d for d in schema.directives if d.name not in FEDERATION_DIRECTIVES],
        extensions=schema.extensions,
    )


def build_without_federation(schema_class: type[PlainSchema], **arguments: Any) -> PlainSchema:
    """A plain (not federated) schema of these types, with no trace of Federation."""
    with warnings.catch_warnings():
        # Strawberry warns of the entity types' @key directives in a plain schema: here
        # they are expected, and dropped from the GraphQL schema just below.
        warnings.filterwarnings("ignore", "Federation directive found", UserWarning)
        schema = schema_class(**arguments)
    # As Strawberry does when it sorts a schema: replace the GraphQL schema, re-attach.
    schema._schema = without_federation(schema._schema)
    schema._schema._strawberry_schema = schema  # type: ignore[attr-defined]
    return schema


def client_sdl(schema: GraphQLSchema) -> str:
    """The SDL clients see (schema.graphql): as Strawberry prints it, less Federation."""
    plain = without_federation(schema)
    directives = [print_directive(d) for d in plain.directives if not is_specified_directive(d)]
    types: list[Any] = [
        plain.type_map[name]
        for name in sorted(plain.type_map)
        if not is_specified_scalar_type(plain.type_map[name])
        and not is_introspection_type(plain.type_map[name])
    ]
    return "\n\n".join([*directives, *(print_type(type_) for type_ in types)])


def possible_types(schema: GraphQLSchema) -> dict[str, list[str]]:
    """Apollo Client's `possibleTypes` for the schema clients see: each interface and
    union, and the object types that implement or belong to it (sorted, for diffs)."""
    plain = without_federation(schema)
    return {
        name: sorted(t.name for t in plain.get_possible_types(type_))
        for name, type_ in sorted(plain.type_map.items())
        if is_abstract_type(type_) and not is_introspection_type(type_)
    }
