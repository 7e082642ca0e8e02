"""Opaque Relay global IDs: base64url of "TypeName:key", without padding."""

from __future__ import annotations

import base64
import binascii

from schema.errors import BadUserInputError

# Types that implement Node, and so may appear in a global ID.
NODE_TYPES = frozenset(
    {"Vehicle", "Dealer", "User", "Quote", "Order", "Payment", "Refund", "FeedRun", "Photo"}
)


MAX_KEY = 2**63 - 1  # the largest BIGINT


def to_global_id(type_name: str, key: int | str) -> str:
    return base64.urlsafe_b64encode(f"{type_name}:{key}".encode()).rstrip(b"=").decode()


def from_global_id(global_id: str, *, field: str = "id") -> tuple[str, str]:
    """(type name, key) of a global ID; `BadUserInputError` naming `field` if malformed."""
    try:
        padded = global_id + "=" * (-len(global_id) % 4)
        type_name, _, key = base64.urlsafe_b64decode(padded.encode()).decode().partition(":")
    except (binascii.Error, UnicodeError, ValueError):
        raise BadUserInputError(f"{field}: not a valid global ID", field=field) from None
    if type_name not in NODE_TYPES or not key:
        raise BadUserInputError(f"{field}: not a valid global ID", field=field)
    return type_name, key


def decode_int_id(global_id: str, expected_type: str, *, field: str = "id") -> int:
    """The integer key of a global ID that must name an `expected_type`."""
    type_name, key = from_global_id(global_id, field=field)
    if type_name != expected_type:
        raise BadUserInputError(
            f"{field}: expected the ID of a {expected_type}, got the ID of a {type_name}",
            field=field,
        )
    # A positive BIGINT (quote ids are random ones, up to 19 digits).
    if not key.isascii() or not key.isdigit() or len(key) > 19 or int(key) > MAX_KEY:
        raise BadUserInputError(f"{field}: not a valid global ID", field=field)
    return int(key)
