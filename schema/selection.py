"""Which fields a query selects below a path, fragments included."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from strawberry.types.nodes import FragmentSpread, InlineFragment, SelectedField, Selection


def _fields(selections: Iterable[Selection]) -> Iterable[SelectedField]:
    for selection in selections:
        if isinstance(selection, SelectedField):
            yield selection
        elif isinstance(selection, FragmentSpread | InlineFragment):
            yield from _fields(selection.selections)


def selected_at(
    selected_fields: Sequence[Selection], path: Sequence[str] = ()
) -> list[SelectedField]:
    """The fields selected under `path` (e.g. ("edges", "node")) of the field being resolved.

    `selected_fields` is `info.selected_fields`: the resolved field itself, whose
    children the path starts from. Arguments come with variables already substituted.
    """
    level: list[SelectedField] = [
        child for field in _fields(selected_fields) for child in _fields(field.selections)
    ]
    for step in path:
        level = [
            child for field in level if field.name == step for child in _fields(field.selections)
        ]
    return level


def selected_names(selected_fields: Sequence[Selection], path: Sequence[str] = ()) -> set[str]:
    """Names selected under `path` of the field being resolved (see `selected_at`)."""
    return {field.name for field in selected_at(selected_fields, path)}
