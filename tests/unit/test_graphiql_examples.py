"""GraphiQL's example operations are valid against the schema, with their variables."""

from __future__ import annotations

import json

import pytest
from graphql import OperationDefinitionNode, parse, validate
from graphql.execution.values import get_variable_values

from core.graphiql_examples import EXAMPLE_TABS, HEADERS_TEMPLATE, TOKEN_PLACEHOLDER, ExampleTab
from core.settings import Settings
from schema.build import build_schema

SCHEMA = build_schema(Settings(_env_file=None))._schema


@pytest.mark.parametrize("tab", EXAMPLE_TABS, ids=lambda tab: tab.query.split("{")[0][-40:])
def test_each_example_validates_with_its_variables(tab: ExampleTab) -> None:
    document = parse(tab.query)
    assert [error.message for error in validate(SCHEMA, document)] == []
    variables = json.loads(tab.variables) if tab.variables else {}
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    assert operations, tab.query
    for operation in operations:
        assert operation.name is not None  # GraphiQL lists a document's operations by name
        coerced = get_variable_values(SCHEMA, operation.variable_definitions, variables)
        assert not isinstance(coerced, list), (operation.name.value, coerced)  # errors


def test_the_examples_cover_browsing_signing_in_ordering_and_following_an_order() -> None:
    fields = {
        selection.name.value
        for tab in EXAMPLE_TABS
        for definition in parse(tab.query).definitions
        if isinstance(definition, OperationDefinitionNode)
        for selection in definition.selection_set.selections
        if hasattr(selection, "name")
    }
    assert {"vehicles", "login", "createOrder", "checkout", "orderStatusChanged"} <= fields
    assert "reserve: true" in next(tab.query for tab in EXAMPLE_TABS if "createOrder" in tab.query)


def test_the_headers_template_is_json_with_an_authorization_placeholder() -> None:
    assert json.loads(HEADERS_TEMPLATE) == {"Authorization": f"Bearer {TOKEN_PLACEHOLDER}"}
