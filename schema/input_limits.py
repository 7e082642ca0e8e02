"""Inputs no resolver should see are refused before validation: unstorable text, and
lists longer than MAX_INPUT_LIST_LENGTH.

A list argument (Federation's `representations`, `ids`, a filter's values) is refused
when it holds more items than the setting allows, as a literal or a variable: BAD_USER_INPUT
naming the argument and the maximum. Without it, 19,000 representations in a 1 MB body
would each be resolved.

PostgreSQL's text refuses the NUL character, and UTF-8 has no encoding for an unpaired
surrogate (JSON's "\\ud800" escape decodes to one). Either, sent to a resolver, ends as a
database error or an answer that cannot be encoded. The extension walks every argument
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


class InputRefused(Exception):
    def __init__(self, path: str, message: str, **extensions: Any) -> None:
        super().__init__(message)
        self.path = path
        self.message = message
        self.extensions = extensions


def _check_length(count: int, path: str, max_list: int) -> None:
    if count > max_list:
        raise InputRefused(path, f"a list of {count} items; at most {max_list}", maximum=max_list)


def _bad_in_json(value: Any, path: str, max_list: int) -> str | None:
    """The path of the first unstorable string (or object key) in a variable's value."""
    if isinstance(value, str):
        return path if _bad_text(value) else None
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str) and _bad_text(key):
                return path
            if (found := _bad_in_json(item, f"{path}.{key}", max_list)) is not None:
                return found
    elif isinstance(value, list):
        _check_length(len(value), path, max_list)
        for index, item in enumerate(value):
            if (found := _bad_in_json(item, f"{path}[{index}]", max_list)) is not None:
                return found
    return None


def _bad_in_literal(
    node: ValueNode, path: str, variables: dict[str, Any], uses: dict[str, str], max_list: int
) -> str | None:
    if isinstance(node, StringValueNode):
        return path if _bad_text(node.value) else None
    if isinstance(node, VariableNode):
        uses.setdefault(node.name.value, path)
        return _bad_in_json(variables.get(node.name.value), path, max_list)
    if isinstance(node, ObjectValueNode):
        for field in node.fields:
            name = field.name.value
            if _bad_text(name):
                return path
            found = _bad_in_literal(field.value, f"{path}.{name}", variables, uses, max_list)
            if found is not None:
                return found
    elif isinstance(node, ListValueNode):
        _check_length(len(node.values), path, max_list)
        for index, item in enumerate(node.values):
            found = _bad_in_literal(item, f"{path}[{index}]", variables, uses, max_list)
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


def check_inputs(
    document: DocumentNode, variables: dict[str, Any] | None, *, max_list: int
) -> None:
    """Raise InputRefused for the first unstorable text or over-long list, if any."""
    values = variables or {}
    uses: dict[str, str] = {}  # variable name -> the argument it was first seen in
    for owner, argument in _arguments(document):
        name = argument.name.value
        try:
            if _bad_text(name):
                raise InputRefused("argument name", UNSTORABLE_TEXT)
            found = _bad_in_literal(argument.value, name, values, uses, max_list)
            if found is not None:
                raise InputRefused(found, UNSTORABLE_TEXT)
        except InputRefused as refused:
            refused.message = f"{owner}({refused.path}): {refused.message}"
            raise
    for name, value in values.items():  # the unused ones too: coercion quotes values
        if name in uses:
            continue  # checked where it is used
        path = f"${name}"
        try:
            found = _bad_in_json(value, path, max_list)
            if found is not None or (isinstance(name, str) and _bad_text(name)):
                raise InputRefused(found or f"${name}", UNSTORABLE_TEXT)
        except InputRefused as refused:
            refused.message = f"variables({refused.path}): {refused.message}"
            raise


def _refused_by_limits(errors: list[GraphQLError] | None) -> bool:
    return any(
        (error.extensions or {}).get("code") == ErrorCode.QUERY_TOO_COMPLEX.value
        for error in errors or ()
    )


class InputLimits(SchemaExtension):
    """Refuses unstorable text and over-long lists in any input.

    Runs just after the document limits and validation (schema/limits.py): an oversized
    document stays refused as such; any other answer, validation's errors included (they
    may quote the text), is replaced by this refusal.
    """

    def __init__(self, *, max_list_length: int) -> None:
        self.max_list_length = max_list_length

    def on_validate(self) -> Iterator[None]:
        ctx = self.execution_context
        document = ctx.graphql_document
        if document is not None and not _refused_by_limits(ctx.pre_execution_errors):
            try:
                check_inputs(document, ctx.variables, max_list=self.max_list_length)
            except InputRefused as refused:
                extensions = {
                    "code": ErrorCode.BAD_USER_INPUT.value,
                    "field": refused.path,
                    **refused.extensions,
                }
                ctx.pre_execution_errors = [GraphQLError(refused.message, extensions=extensions)]
        yield
