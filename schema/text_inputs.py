"""Text PostgreSQL cannot store is refused before anything reads it.

PostgreSQL's text refuses the NUL character, and UTF-8 has no encoding for an unpaired
surrogate (JSON's "\\ud800" escape decodes to one). Either, sent to a resolver, ends as a
database error or an answer that cannot be encoded. This extension walks every argument
of the operation before validation (literals, variables, input-object fields, list items,
directive arguments; every variable value too, the unused ones included, since
coercion's messages quote them) and refuses the first offending one: BAD_USER_INPUT, its
`field` naming the argument (`input.email`, `ids[2]`), the value never quoted. (The
request's other parameters, the operation name among them, are checked at the HTTP edge:
core/request_json.py. A lone surrogate cannot even be written in a GraphQL literal: the
parser refuses it.)
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from graphql import (
    ArgumentNode,
    DirectiveNode,
    DocumentNode,
    FieldNode,
    GraphQLError,
    ListValueNode,
    ObjectValueNode,
    StringValueNode,
    ValueNode,
    VariableNode,
)
from graphql.language import Visitor, visit
from strawberry.extensions import SchemaExtension

from core.request_json import UNSTORABLE_TEXT
from core.request_json import unstorable as _bad_text
from schema.errors import ErrorCode


def _bad_in_json(value: Any, path: str) -> str | None:
    """The path of the first unstorable string (or object key) in a variable's value."""
    if isinstance(value, str):
        return path if _bad_text(value) else None
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str) and _bad_text(key):
                return path
            if (found := _bad_in_json(item, f"{path}.{key}")) is not None:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            if (found := _bad_in_json(item, f"{path}[{index}]")) is not None:
                return found
    return None


def _bad_in_literal(
    node: ValueNode, path: str, variables: dict[str, Any], uses: dict[str, str]
) -> str | None:
    if isinstance(node, StringValueNode):
        return path if _bad_text(node.value) else None
    if isinstance(node, VariableNode):
        uses.setdefault(node.name.value, path)
        return _bad_in_json(variables.get(node.name.value), path)
    if isinstance(node, ObjectValueNode):
        for field in node.fields:
            name = field.name.value
            if _bad_text(name):
                return path
            found = _bad_in_literal(field.value, f"{path}.{name}", variables, uses)
            if found is not None:
                return found
    elif isinstance(node, ListValueNode):
        for index, item in enumerate(node.values):
            found = _bad_in_literal(item, f"{path}[{index}]", variables, uses)
            if found is not None:
                return found
    return None


class _Arguments(Visitor):
    """Every argument in the document, with the field or directive it belongs to."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, ArgumentNode]] = []

    def enter_field(self, node: FieldNode, *_: Any) -> None:
        self.found.extend((node.name.value, argument) for argument in node.arguments or ())

    def enter_directive(self, node: DirectiveNode, *_: Any) -> None:
        self.found.extend((f"@{node.name.value}", argument) for argument in node.arguments or ())


def _arguments(document: DocumentNode) -> Iterator[tuple[str, ArgumentNode]]:
    visitor = _Arguments()
    visit(document, visitor)
    yield from visitor.found


def find_unstorable_text(
    document: DocumentNode, variables: dict[str, Any] | None
) -> tuple[str, str] | None:
    """(the field or directive, the argument path) of the first unstorable text, if any."""
    values = variables or {}
    uses: dict[str, str] = {}  # variable name -> the argument it was first seen in
    for owner, argument in _arguments(document):
        name = argument.name.value
        if _bad_text(name):
            return (owner, "argument name")
        found = _bad_in_literal(argument.value, name, values, uses)
        if found is not None:
            return (owner, found)
    for name, value in values.items():  # the unused ones too: coercion quotes values
        found = _bad_in_json(value, uses.get(name, f"${name}"))
        if found is not None or (isinstance(name, str) and _bad_text(name)):
            return ("variables", found or f"${name}")
    return None


def _refused_by_limits(errors: list[GraphQLError] | None) -> bool:
    return any(
        (error.extensions or {}).get("code") == ErrorCode.QUERY_TOO_COMPLEX.value
        for error in errors or ()
    )


class StorableText(SchemaExtension):
    """Refuses NUL characters and unpaired surrogates in any input.

    Runs just after the document limits and validation (schema/limits.py): an oversized
    document stays refused as such; any other answer, validation's errors included (they
    may quote the text), is replaced by this refusal.
    """

    def on_validate(self) -> Iterator[None]:
        ctx = self.execution_context
        document = ctx.graphql_document
        if document is not None and not _refused_by_limits(ctx.pre_execution_errors):
            found = find_unstorable_text(document, ctx.variables)
            if found is not None:
                owner, path = found
                ctx.pre_execution_errors = [
                    GraphQLError(
                        f"{owner}({path}): {UNSTORABLE_TEXT}",
                        extensions={"code": ErrorCode.BAD_USER_INPUT.value, "field": path},
                    )
                ]
        yield
