"""Text PostgreSQL cannot store (NUL, unpaired surrogates) in any argument of the schema
is refused with BAD_USER_INPUT naming the argument, as a variable or as a literal, before
any resolver runs. The arguments are found by walking the live schema."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from graphql import (
    GraphQLArgument,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLScalarType,
    get_named_type,
    is_composite_type,
)

from core.settings import Settings
from schema.build import build_schema

HOSTILE = {"NUL": "a\u0000b", "lone surrogate": "a\ud800b"}
NOT_TEXT = {"Int", "Float", "Boolean"}
GRAPHQL_RESPONSE = "application/graphql-response+json"


@dataclass(frozen=True)
class Target:
    operation: str
    field: str
    argument: str
    argument_type: str
    path: str  # as the refusal names it: input.email, ids[0]
    value: Any  # the argument's value, the hostile text at `path` (a placeholder string)
    selection: str


PLACEHOLDER = "\x01HOSTILE\x01"


def _values(kind: GraphQLInputType, path: str, seen: frozenset[str]) -> Iterator[tuple[str, Any]]:
    """(path, value) for each text leaf reachable in an input of this type."""
    if isinstance(kind, GraphQLNonNull):
        yield from _values(kind.of_type, path, seen)
    elif isinstance(kind, GraphQLList):
        for inner_path, value in _values(kind.of_type, f"{path}[0]", seen):
            yield inner_path, [value]
    elif isinstance(kind, GraphQLInputObjectType):
        if kind.name in seen:
            return
        for name, field in kind.fields.items():
            for inner_path, value in _values(field.type, f"{path}.{name}", seen | {kind.name}):
                yield inner_path, {name: value}
    elif isinstance(kind, GraphQLScalarType) and kind.name not in NOT_TEXT:
        yield path, PLACEHOLDER


def _targets() -> list[Target]:
    schema = build_schema(Settings(_env_file=None))._schema
    found = []
    for operation, root in (("query", schema.query_type), ("mutation", schema.mutation_type)):
        assert root is not None
        for field_name, field in root.fields.items():
            selection = " { __typename }" if is_composite_type(get_named_type(field.type)) else ""
            argument: GraphQLArgument
            for argument_name, argument in field.args.items():
                for path, value in _values(argument.type, argument_name, frozenset()):
                    found.append(
                        Target(operation, field_name, argument_name, str(argument.type),
                               path, value, selection)
                    )  # fmt: skip
    return found


TARGETS = _targets()


def _literal(value: Any, text: str) -> str:
    """The value as a GraphQL literal; the hostile text with \\u escapes, as JSON writes it."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_literal(v, text)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_literal(v, text) for v in value) + "]"
    return json.dumps(text)  # "a\u0000b", "a\ud800b": GraphQL's string escapes too


def _substitute(value: Any, text: str) -> Any:
    if isinstance(value, dict):
        return {k: _substitute(v, text) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, text) for v in value]
    return text


def test_the_walk_finds_the_arguments_clients_reach_first() -> None:
    paths = {(t.field, t.path) for t in TARGETS}
    assert {("login", "input.email"), ("refreshToken", "input.refreshToken")} <= paths
    assert {("vehicles", "filter.search"), ("nodes", "ids[0]")} <= paths
    assert len(TARGETS) > 36


async def _refusal(client: httpx.AsyncClient, body: dict[str, Any]) -> dict[str, Any]:
    # Sent as a real client sends it: JSON, the text as \u escapes.
    response = await client.post(
        "/graphql",
        content=json.dumps(body),
        headers={"content-type": "application/json", "accept": GRAPHQL_RESPONSE},
    )
    assert response.status_code == 400, response.text
    payload: dict[str, Any] = response.json()
    assert "data" not in payload
    [error] = payload["errors"]
    return dict(error)


async def _refused(client: httpx.AsyncClient, body: dict[str, Any]) -> dict[str, Any]:
    return dict((await _refusal(client, body))["extensions"])


@pytest.mark.parametrize("text", HOSTILE.values(), ids=HOSTILE.keys())
async def test_every_text_argument_refuses_unstorable_text(
    client: httpx.AsyncClient, text: str
) -> None:
    for target in TARGETS:
        document = (
            f"{target.operation} Hostile($v: {target.argument_type}) "
            f"{{ {target.field}({target.argument}: $v){target.selection} }}"
        )
        variables = {"v": _substitute(target.value, text)}
        extensions = await _refused(client, {"query": document, "variables": variables})
        assert extensions == {"code": "BAD_USER_INPUT", "field": target.path}, target
        literal = (
            f"{target.operation} {{ {target.field}({target.argument}: "
            f"{_literal(target.value, text)}){target.selection} }}"
        )
        error = await _refusal(client, {"query": literal})
        if text == HOSTILE["lone surrogate"]:  # GraphQL's own syntax has no such escape
            assert error["message"].startswith("Syntax Error: Invalid Unicode escape")
            assert error["extensions"] == {"code": "BAD_USER_INPUT"}, target
        else:
            assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": target.path}, target


@pytest.mark.parametrize("text", HOSTILE.values(), ids=HOSTILE.keys())
async def test_unstorable_text_in_an_unused_variable_or_the_operation_name_is_refused(
    client: httpx.AsyncClient, text: str
) -> None:
    extensions = await _refused(
        client, {"query": "query($n: Int) { __typename }", "variables": {"n": text}}
    )
    assert extensions == {"code": "BAD_USER_INPUT", "field": "$n"}
    for parameter in ("operationName", "documentId"):
        error = await _refusal(client, {"query": "query Q { __typename }", parameter: text})
        assert error == {
            "message": f"{parameter}: text may not contain NUL characters or unpaired surrogates",
            "extensions": {"code": "BAD_USER_INPUT"},
        }
    error = await _refusal(
        client,
        {"query": "{ __typename }", "extensions": {"persistedQuery": {"sha256Hash": text}}},
    )
    assert error["extensions"] == {"code": "BAD_USER_INPUT"}
    assert error["message"].startswith("extensions: ")
