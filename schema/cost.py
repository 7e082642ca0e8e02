"""Query cost: computed from the document before execution, and from the result after.

Every field costs 1, each time the document selects it (295 copies of one field cost
295, though the executor resolves them once: each is work for validation). A list
multiplies the cost of what it selects by its length: for a connection's `edges`, the
page size asked (`first`/`last`, default 20); for `nodes(ids:)` and Federation's
`_entities(representations:)`, the number of ids or representations, each costing at
least 1 (even when only `__typename` is selected, each one is loaded); for any other
list, `DEFAULT_LIST_SIZE`. The actual cost walks the result with the same
rule, counting the lists' real lengths, so a short last page costs less than it reserved
and the difference is refunded to the caller's budget.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    ListValueNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    VariableNode,
    get_named_type,
)

from schema.pagination import DEFAULT_PAGE_SIZE

DEFAULT_LIST_SIZE = 10
PAGE_ARGUMENTS = ("first", "last")
# Root list fields as long as one of their list arguments.
SIZED_BY_ARGUMENT = {"nodes": "ids", "_entities": "representations"}

_Fields = dict[str, list[FieldNode]]


def find_operation(
    document: DocumentNode, operation_name: str | None
) -> OperationDefinitionNode | None:
    """The operation that will run (None when the name matches nothing)."""
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name is None:
        return operations[0] if len(operations) == 1 else None
    return next((op for op in operations if op.name and op.name.value == operation_name), None)


def _root_type(
    schema: GraphQLSchema, operation: OperationDefinitionNode
) -> GraphQLObjectType | None:
    if operation.operation is OperationType.MUTATION:
        return schema.mutation_type
    if operation.operation is OperationType.SUBSCRIPTION:
        return schema.subscription_type
    return schema.query_type


def _collect(
    selection_set: SelectionSetNode,
    fragments: Mapping[str, FragmentDefinitionNode],
    into: _Fields,
    seen: frozenset[str] = frozenset(),
) -> _Fields:
    # Fields by response key, merged as the executor merges them; type conditions are
    # ignored, which over-counts a little for abstract types and never under-counts.
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            key = selection.alias.value if selection.alias else selection.name.value
            into.setdefault(key, []).append(selection)
        elif isinstance(selection, InlineFragmentNode):
            _collect(selection.selection_set, fragments, into, seen)
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            if name in fragments and name not in seen:
                _collect(fragments[name].selection_set, fragments, into, seen | {name})
    return into


def _children(nodes: list[FieldNode], fragments: Mapping[str, FragmentDefinitionNode]) -> _Fields:
    merged: _Fields = {}
    for node in nodes:
        if node.selection_set is not None:
            _collect(node.selection_set, fragments, merged)
    return merged


def _argument(node: FieldNode, name: str, variables: Mapping[str, Any]) -> Any:
    for argument in node.arguments or ():
        if argument.name.value == name:
            value = argument.value
            if isinstance(value, VariableNode):
                return variables.get(value.name.value)
            if isinstance(value, IntValueNode):
                return int(value.value)
            if isinstance(value, ListValueNode):
                return value.values
            return None
    return None


def _field_type(parent: Any, name: str) -> Any:
    fields = getattr(parent, "fields", None)
    if not fields or name not in fields:
        return None
    return fields[name].type


def _is_list(field_type: Any) -> bool:
    if isinstance(field_type, GraphQLNonNull):
        field_type = field_type.of_type
    return isinstance(field_type, GraphQLList)


def _page_size(nodes: list[FieldNode], variables: Mapping[str, Any]) -> int | None:
    for name in PAGE_ARGUMENTS:
        size = _argument(nodes[0], name, variables)
        if isinstance(size, int) and not isinstance(size, bool):
            return max(size, 0)
    return None


def _requested(
    fields: _Fields,
    parent: Any,
    fragments: Mapping[str, FragmentDefinitionNode],
    variables: Mapping[str, Any],
    page_size: int,
) -> int:
    total = 0
    for nodes in fields.values():
        name = nodes[0].name.value
        if name.startswith("__"):
            continue
        field_type = _field_type(parent, name)
        named = get_named_type(field_type) if field_type is not None else None
        children = _children(nodes, fragments)
        own_page = _page_size(nodes, variables)
        is_connection = named is not None and named.name.endswith("Connection")
        child_page = (
            (own_page if own_page is not None else DEFAULT_PAGE_SIZE)
            if is_connection
            else page_size
        )
        cost = _requested(children, named, fragments, variables, child_page) if children else 0
        if field_type is not None and _is_list(field_type):
            if (
                name in SIZED_BY_ARGUMENT
                and isinstance(parent, GraphQLObjectType)
                and parent.name == "Query"
            ):
                items = _argument(nodes[0], SIZED_BY_ARGUMENT[name], variables)
                size = len(items) if isinstance(items, list | tuple) else DEFAULT_LIST_SIZE
                cost = max(cost, 1)  # each item is loaded, whatever is selected of it
            elif name == "edges":
                size = page_size
            else:
                size = DEFAULT_LIST_SIZE
            cost *= size
        total += len(nodes) + cost
    return total


def requested_cost(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation_name: str | None,
    variables: Mapping[str, Any] | None,
) -> int:
    """The most the operation can cost, from its document and variables."""
    operation = find_operation(document, operation_name)
    if operation is None:
        return 0
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    root = _root_type(schema, operation)
    fields = _collect(operation.selection_set, fragments, {})
    return _requested(fields, root, fragments, variables or {}, DEFAULT_PAGE_SIZE)


def _actual(fields: _Fields, data: Any, children_of: Callable[[list[FieldNode]], _Fields]) -> int:
    if isinstance(data, list):
        return sum(_actual(fields, item, children_of) for item in data)
    if not isinstance(data, Mapping):
        return 0
    total = 0
    for key, nodes in fields.items():
        if nodes[0].name.value.startswith("__") or key not in data:
            continue
        children = children_of(nodes)
        total += len(nodes) + (_actual(children, data[key], children_of) if children else 0)
    return total


def actual_cost(
    document: DocumentNode, operation_name: str | None, data: Mapping[str, Any] | None
) -> int:
    """What the operation did cost, from its result: lists count their real lengths."""
    operation = find_operation(document, operation_name)
    if operation is None or data is None:
        return 0
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    # Every item of a list has the same selection: merge each field's children once.
    merged: dict[int, _Fields] = {}

    def children_of(nodes: list[FieldNode]) -> _Fields:
        found = merged.get(id(nodes))
        if found is None:
            found = merged[id(nodes)] = _children(nodes, fragments)
        return found

    return _actual(_collect(operation.selection_set, fragments, {}), data, children_of)
