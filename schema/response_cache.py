"""Tells the response cache whether the operation being run may be kept.

The view (core/graphql_view.py) looks the request up before anything is parsed; only
after validation is the operation known. This extension then marks the request's plan
(core/response_cache.py): cacheable when the operation is a query whose root fields are
all in `CACHEABLE_ROOT_FIELDS`, named directly (a fragment at the root is not looked into).
"""

from __future__ import annotations

from collections.abc import Iterator

from graphql import DocumentNode, FieldNode, OperationType
from strawberry.extensions import SchemaExtension

from core.response_cache import CACHEABLE_ROOT_FIELDS, current_plan
from schema.cost import find_operation


def is_cacheable(document: DocumentNode, operation_name: str | None) -> bool:
    operation = find_operation(document, operation_name)
    if operation is None or operation.operation is not OperationType.QUERY:
        return False
    selections = operation.selection_set.selections
    return bool(selections) and all(
        isinstance(selection, FieldNode) and selection.name.value in CACHEABLE_ROOT_FIELDS
        for selection in selections
    )


class ResponseCachePolicy(SchemaExtension):
    def on_execute(self) -> Iterator[None]:
        plan = current_plan()
        ctx = self.execution_context
        if plan is not None and ctx.graphql_document is not None:
            plan.cacheable = is_cacheable(ctx.graphql_document, ctx.operation_name)
        yield
