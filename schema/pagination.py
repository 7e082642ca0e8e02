"""Relay connection arguments: validated, never silently cut."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import strawberry

from schema.errors import BadUserInputError
from services.errors import InvalidArgumentError

DEFAULT_PAGE_SIZE = 20
CursorT = TypeVar("CursorT")


@strawberry.type(description="Where a page stands in its connection (Relay).")
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None

    @classmethod
    def of(cls, edges: Sequence[Any], *, has_next_page: bool, has_previous_page: bool) -> PageInfo:
        """The page info of these edges (each has a `cursor`)."""
        return cls(
            has_next_page=has_next_page,
            has_previous_page=has_previous_page,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None,
        )


def validate_page_args(
    *,
    first: int | None,
    after: str | None,
    last: int | None,
    before: str | None,
    max_page_size: int,
) -> tuple[int, bool]:
    """(limit, backwards) for Relay arguments; `BadUserInputError` naming the argument."""
    if first is not None and last is not None:
        raise BadUserInputError("first and last cannot be combined; page one way", field="last")
    for name, value in (("first", first), ("last", last)):
        if value is not None and value < 0:
            raise BadUserInputError(f"{name} must not be negative", field=name)
        if value is not None and value > max_page_size:
            raise BadUserInputError(
                f"{name} is {value}, above the maximum page size of {max_page_size}",
                field=name,
                maximum=max_page_size,
            )
    if last is not None:
        return last, True
    if before is not None and first is None:
        raise BadUserInputError(
            "before needs last (page backwards with last/before)", field="before"
        )
    return (first if first is not None else DEFAULT_PAGE_SIZE), False


def decode_or_bad_input(decode: Callable[[str], CursorT], cursor: str | None) -> CursorT | None:
    """Run a service's cursor decoder, turning its refusal into `BAD_USER_INPUT`."""
    if cursor is None:
        return None
    try:
        return decode(cursor)
    except InvalidArgumentError as error:
        raise BadUserInputError(error.message, field=error.argument) from None
