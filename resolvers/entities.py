"""Federation's `_entities(representations:)`: the objects other subgraphs reference.

A representation is `{"__typename": <entity type>, <the fields of one of its keys>}`;
the keys are the `@key`s the entity types declare (schema/federation.py). A key `id` is
the object's global ID and resolves as `node(id:)` does (resolvers/node.py); `vin` is a
Vehicle's VIN. Both go through the request's DataLoaders, so a hundred representations
cost the statements of one. The caller sees what `node(id:)` and `order(id:)` let them
see. Each representation that fails is null, with its error at its index:

- not an object, no `__typename`, a type that is no entity here, no complete key, a key
  value that is not a string, a global ID of another type, a malformed VIN:
  `BAD_USER_INPUT`, naming `representations[i]` (or its key field) in `field`;
- nothing with that key: `NOT_FOUND`;
- someone else's order or payment: `FORBIDDEN`, or `UNAUTHENTICATED` when nobody is
  signed in.
"""

from __future__ import annotations

from collections.abc import Awaitable, Sequence

from strawberry.federation.schema_directives import Key
from strawberry.types.base import StrawberryObjectDefinition

from auth.permissions import SIGN_IN_MESSAGE, principal_of
from resolvers.catalog import find_by_vin
from resolvers.node import RESOLVERS
from schema.context import Info
from schema.errors import BadUserInputError, ForbiddenError, NotFoundError, UnauthenticatedError
from schema.ids import decode_int_id
from schema.node import Node


def resolve_entities(info: Info, representations: Sequence[object]) -> list[Awaitable[Node]]:
    """One awaitable per representation, in order. The executor awaits them together, so
    the DataLoaders batch every key, and a failure stays at its own index."""
    return [entity(info, index, value) for index, value in enumerate(representations)]


async def entity(info: Info, index: int, representation: object) -> Node:
    """The object a representation names, or a coded error."""
    where = f"representations[{index}]"
    if not isinstance(representation, dict):
        raise BadUserInputError(
            f"{where}: an object with __typename and the fields of a key expected", field=where
        )
    type_name = representation.get("__typename")
    if not isinstance(type_name, str):
        raise BadUserInputError(f"{where}: __typename (a string) missing", field=where)
    keys = entity_keys(info, type_name)
    if not keys:
        raise BadUserInputError(
            f"{where}: {type_name} is not an entity of this subgraph", field=where
        )
    key = next((key for key in keys if key in representation), None)
    if key is None:
        raise BadUserInputError(
            f"{where}: a {type_name} is referenced by {' or by '.join(keys)}", field=where
        )
    value = representation[key]
    field = f"{where}.{key}"
    if not isinstance(value, str):
        raise BadUserInputError(f"{field}: a string expected", field=field)
    found: Node | None
    if key == "vin":
        found = await find_by_vin(info, value, field=field)
    else:
        found = await _node(info, type_name, value, field=field)
    if found is None:
        raise NotFoundError(f"{where}: no {type_name} with {key} {value}", field=where)
    return found


def entity_keys(info: Info, type_name: str) -> list[str]:
    """The keys (one field each) of an entity type; empty for any other name."""
    definition = info.schema.get_type_by_name(type_name)
    if not isinstance(definition, StrawberryObjectDefinition):
        return []
    return [str(d.fields) for d in definition.directives or () if isinstance(d, Key)]


async def _node(info: Info, type_name: str, global_id: str, *, field: str) -> Node | None:
    pk = decode_int_id(global_id, type_name, field=field)
    try:
        return await RESOLVERS[type_name](info, pk)
    except ForbiddenError:
        # As order(id:): who has not signed in is told to, rather than refused.
        if not principal_of(info).is_authenticated:
            raise UnauthenticatedError(SIGN_IN_MESSAGE) from None
        raise
