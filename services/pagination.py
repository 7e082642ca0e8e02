"""Keyset pagination, one kit for every list: the cursor codec and the page.

A cursor is opaque to clients but stable: they hold cursors across requests and
releases, so each list keeps the bytes it has always made. Every cursor is URL-safe
base64 of a key; most lists' key is a JSON array (`["ORDER", created_at, id]`), the
feed-run list keeps base64's padding, and a run's rejected rows are keyed by `line:N`
text. Decoding accepts the cursor with or without padding and refuses anything else
with `InvalidArgumentError` naming the argument (`after` or `before`).

A page is fetched with one row more than asked (`limit + 1`) in the direction of
travel; `page_of` trims that look-ahead row, says what lies beyond on either side, and
puts a backwards page back in display order.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import orjson

from services.errors import InvalidArgumentError

RowT = TypeVar("RowT")
INVALID_CURSOR = "not a valid cursor"


def encode_text_cursor(key: bytes, *, padded: bool = False) -> str:
    """The cursor of a key, as URL-safe base64 (without its `=` padding unless asked)."""
    encoded = base64.urlsafe_b64encode(key)
    return (encoded if padded else encoded.rstrip(b"=")).decode()


def decode_text_cursor(cursor: str, *, argument: str, message: str = INVALID_CURSOR) -> bytes:
    """The key of a cursor (padded or not); `InvalidArgumentError` if it is not base64."""
    try:
        return base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    except (binascii.Error, ValueError):
        raise InvalidArgumentError(argument, message) from None


def encode_cursor(*parts: Any, padded: bool = False) -> str:
    """The cursor of a key made of JSON values."""
    return encode_text_cursor(orjson.dumps(list(parts)), padded=padded)


def decode_cursor(
    cursor: str, *, argument: str, length: int, message: str = INVALID_CURSOR
) -> list[Any]:
    """The `length` JSON values of a cursor's key; `InvalidArgumentError` otherwise."""
    raw = decode_text_cursor(cursor, argument=argument, message=message)
    try:
        parts = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise InvalidArgumentError(argument, message) from None
    if not isinstance(parts, list) or len(parts) != length:
        raise InvalidArgumentError(argument, message)
    return parts


@dataclass(frozen=True, slots=True)
class Page(Generic[RowT]):
    """One page of rows in display order, and whether more lie after or before it."""

    rows: Sequence[RowT]
    has_next_page: bool
    has_previous_page: bool


def page_of(
    fetched: Sequence[RowT], limit: int, *, backwards: bool, after: object, before: object
) -> Page[RowT]:
    """The page of rows fetched `limit + 1` at most in the direction of travel."""
    more = len(fetched) > limit
    rows = list(fetched[:limit])
    if backwards:
        rows.reverse()
        return Page(rows, has_next_page=before is not None, has_previous_page=more)
    return Page(rows, has_next_page=more, has_previous_page=after is not None)
