"""What reads the schema when introspection is off: nothing.

`INTROSPECTION=false` (production's default) refuses `__schema` and `__type` and also
Federation's `_service { sdl }`, which is the whole schema under another name. A router
composes the subgraph from the SDL `autobroker export-schema --federation` writes (`rover
subgraph publish`, or a supergraph file) and sends only `_entities` at run time, so it
needs no introspection. `__typename` stays: it shows nothing but a type's name.

With field suggestions off (production's default) no error says "Did you mean ...?":
the suggestions are graphql-core's guesses at nearby field, argument, type and enum
value names, a way to read the schema one typo at a time.
"""

from __future__ import annotations

import re
from typing import Any

from graphql import FieldNode, GraphQLError, ValidationRule
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry.extensions import AddValidationRules

FEDERATION_SDL_FIELD = "_service"
# graphql-core appends its suggestions to the end of a message (pyutils/did_you_mean.py).
_SUGGESTION = re.compile(r"\s*Did you mean\b.*\?$", re.DOTALL)


class NoFederationSdlRule(ValidationRule):
    """Refuses `_service` on the query root: the SDL is not served to callers."""

    def enter_field(self, node: FieldNode, *_args: Any) -> None:
        parent = self.context.get_parent_type()
        schema = self.context.schema
        if node.name.value == FEDERATION_SDL_FIELD and parent is schema.query_type:
            self.report_error(
                GraphQLError(
                    "GraphQL introspection has been disabled, and so has '_service': "
                    "the subgraph SDL is published with `autobroker export-schema --federation`",
                    node,
                )
            )


def disable_introspection() -> AddValidationRules:
    """The extension that refuses every way of reading the schema."""
    return AddValidationRules([NoSchemaIntrospectionCustomRule, NoFederationSdlRule])


def without_suggestions(message: str) -> str:
    """`message` without graphql-core's trailing "Did you mean ...?"."""
    return _SUGGESTION.sub("", message)
