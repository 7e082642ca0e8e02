"""Are two contenders' responses the same? Bytes, except the API's cost report.

Decision: the API appends `"extensions":{"cost":...}` (schema/throttle.py) to every
response, and its `throttleStatus.currentlyAvailable` changes from one request to the
next, so no other contender can reproduce it. The rule is therefore: the floor's and the
naive baseline's bodies equal each other byte for byte; the API's body equals them byte
for byte up to the closing brace, where it adds exactly one `extensions` member. The
benchmark prints this rule above its table.
"""

from __future__ import annotations

import orjson

RULE = (
    "responses checked before timing: floor and naive byte-identical; the API's "
    'byte-identical up to its added "extensions" member (the cost report)'
)


class ResponseMismatchError(RuntimeError):
    """A contender answered something else than the floor."""


def _first_difference(a: bytes, b: bytes) -> int:
    return next(
        (i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b))
    )


def check_same(reference: bytes, other: bytes, *, name: str, may_add_extensions: bool) -> None:
    """Raise `ResponseMismatchError` unless `other` is `reference` (see the module rule)."""
    if other == reference:
        return
    if may_add_extensions and reference.endswith(b"}"):
        prefix = reference[:-1] + b',"extensions":'
        if other.startswith(prefix) and other.endswith(b"}"):
            try:
                parsed = orjson.loads(other)
            except orjson.JSONDecodeError:
                parsed = None
            if isinstance(parsed, dict) and set(parsed) == {"data", "extensions"}:
                return
    at = _first_difference(reference, other)
    raise ResponseMismatchError(
        f"{name} differs from the floor at byte {at}:\n"
        f"  floor: …{reference[max(0, at - 120) : at + 120]!r}\n"
        f"  {name}: …{other[max(0, at - 120) : at + 120]!r}"
    )


def check_body(body: bytes, *, name: str, status: int) -> None:
    """Refuse an error answer as a reference: a benchmark of errors measures nothing."""
    if status != 200:
        raise ResponseMismatchError(f"{name} answered HTTP {status}: {body[:500]!r}")
    parsed = orjson.loads(body)
    if not isinstance(parsed, dict) or parsed.get("errors") or parsed.get("data") is None:
        raise ResponseMismatchError(f"{name} answered errors: {body[:500]!r}")
