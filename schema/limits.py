"""Document limits checked before validation, so hostile documents cost microseconds.

graphql-core's validation has rules that grow with the square of repeated fields
(OverlappingFieldsCanBeMerged compares every pair of fields sharing a response name:
295 copies of one field took 0.45 s) and with the length of unknown names (its "Did you
mean" suggestions: 200 unknown 2 KB names took 0.44 s). One linear walk of the parsed
document, before validation, refuses such documents first: its length in characters,
depth, fields, aliases, directives, and how often one response name repeats in one
selection set. The token limit is applied by the parser itself (Strawberry's
MaxTokensLimiter).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    Node,
    OperationDefinitionNode,
    SelectionSetNode,
    parse,
)
from strawberry.extensions import ParserCache, ValidationCache

from schema.errors import ErrorCode


@dataclass(frozen=True, slots=True)
class DocumentLimits:
    max_depth: int = 15
    max_aliases: int = 30
    max_fields: int = 600
    max_directives: int = 50
    max_operations: int = 20
    max_characters: int = 50_000
    # One response key selected this many times in one selection set (fragments
    # included): the overlap check compares every pair, and no client repeats a field
    # hundreds of times. Relay-style fragments that each select `id` stay far below it.
    max_same_field: int = 50


@dataclass(slots=True)
class _Tally:
    fields: int = 0
    aliases: int = 0
    directives: int = 0


class DocumentTooLargeError(Exception):
    def __init__(self, message: str, limit: str, maximum: int) -> None:
        super().__init__(message)
        self.limit = limit
        self.maximum = maximum


def check_document(document: DocumentNode, limits: DocumentLimits, *, characters: int = 0) -> None:
    """Raise `DocumentTooLargeError` for the first limit the document breaks."""
    if characters > limits.max_characters:
        raise DocumentTooLargeError(
            f"the document has {characters} characters; at most {limits.max_characters}",
            "characters",
            limits.max_characters,
        )
    fragments = {
        node.name.value: node
        for node in document.definitions
        if isinstance(node, FragmentDefinitionNode)
    }
    operations = [
        node for node in document.definitions if isinstance(node, OperationDefinitionNode)
    ]
    if len(operations) > limits.max_operations:
        raise DocumentTooLargeError(
            f"the document has {len(operations)} operations; at most {limits.max_operations}",
            "operations",
            limits.max_operations,
        )
    tally = _Tally()
    for definition in document.definitions:
        _count_directives(definition, tally)
    for operation in operations:
        _walk(operation.selection_set, 1, fragments, limits, tally, frozenset())
    _check(tally.aliases, limits.max_aliases, "aliases")
    _check(tally.directives, limits.max_directives, "directives")


def _check(count: int, maximum: int, what: str) -> None:
    if count > maximum:
        raise DocumentTooLargeError(
            f"the document has more than {maximum} {what} (at least {count})", what, maximum
        )


def _count_directives(node: Node, tally: _Tally) -> None:
    """Counts a node's directives; the same directive twice on one node is refused here,
    once, rather than by validation once per copy (`@aa@aa@aa...`: one error each)."""
    directives = getattr(node, "directives", None) or ()
    tally.directives += len(directives)
    names = [directive.name.value for directive in directives]
    if len(set(names)) < len(names):
        repeated = next(name for name in names if names.count(name) > 1)
        raise DocumentTooLargeError(
            f"the directive @{repeated} is repeated on one location; at most once",
            "repeated directives",
            1,
        )


def _selections(
    selection_set: SelectionSetNode,
    fragments: dict[str, FragmentDefinitionNode],
    tally: _Tally,
    seen: frozenset[str],
) -> Iterator[tuple[FieldNode, frozenset[str]]]:
    for selection in selection_set.selections:
        _count_directives(selection, tally)
        if isinstance(selection, FieldNode):
            yield selection, seen
        elif isinstance(selection, InlineFragmentNode):
            yield from _selections(selection.selection_set, fragments, tally, seen)
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            fragment = fragments.get(name)
            if fragment is not None and name not in seen:  # cycles are validation's business
                yield from _selections(fragment.selection_set, fragments, tally, seen | {name})


def _walk(
    selection_set: SelectionSetNode,
    depth: int,
    fragments: dict[str, FragmentDefinitionNode],
    limits: DocumentLimits,
    tally: _Tally,
    seen: frozenset[str],
) -> None:
    if depth > limits.max_depth:
        raise DocumentTooLargeError(
            f"the document nests deeper than {limits.max_depth} levels", "depth", limits.max_depth
        )
    keys: Counter[str] = Counter()
    for field, field_seen in _selections(selection_set, fragments, tally, seen):
        key = (field.alias or field.name).value
        keys[key] += 1
        if keys[key] > limits.max_same_field:
            raise DocumentTooLargeError(
                f"the field {key} is selected more than {limits.max_same_field} times "
                "in one selection set",
                "same field",
                limits.max_same_field,
            )
        tally.fields += 1
        if field.alias is not None:
            tally.aliases += 1
        if tally.fields > limits.max_fields:
            raise DocumentTooLargeError(
                f"the document selects more than {limits.max_fields} fields",
                "fields",
                limits.max_fields,
            )
        if field.selection_set is not None:
            _walk(field.selection_set, depth + 1, fragments, limits, tally, field_seen)


# Parsed in place of a document too long to parse: LimitedValidation refuses it by length.
_UNPARSED = parse("{ __typename }")


class LimitedParserCache(ParserCache):
    """Strawberry's parser cache, which does not parse a document longer than the limit
    (lexing 400 KB alone takes longer than a refusal may): LimitedValidation then
    refuses it, naming the limit."""

    def __init__(self, max_characters: int, *, maxsize: int) -> None:
        super().__init__(maxsize=maxsize)
        self.max_characters = max_characters

    def on_parse(self) -> Iterator[None]:
        ctx = self.execution_context
        if len(ctx.query or "") > self.max_characters:
            ctx.graphql_document = _UNPARSED
            yield
            return
        yield from super().on_parse()


class LimitedValidation(ValidationCache):
    """Refuses over-large documents, then validates the rest with a shared cache.

    One extension, because Strawberry's validation cache would otherwise validate (and
    overwrite the refusal of) a document the limits had already refused.
    """

    def __init__(self, limits: DocumentLimits, *, maxsize: int) -> None:
        super().__init__(maxsize=maxsize)
        self.limits = limits

    def on_validate(self) -> Iterator[None]:
        ctx = self.execution_context
        document = ctx.graphql_document
        if document is None:
            yield
            return
        try:
            check_document(document, self.limits, characters=len(ctx.query or ""))
        except DocumentTooLargeError as error:
            ctx.pre_execution_errors = [
                GraphQLError(
                    str(error),
                    extensions={
                        "code": ErrorCode.QUERY_TOO_COMPLEX.value,
                        "limit": error.limit,
                        "maximum": error.maximum,
                    },
                )
            ]
            yield
            return
        yield from super().on_validate()
