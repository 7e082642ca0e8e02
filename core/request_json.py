"""Decoding the JSON of a GraphQL request (a POST body, GET's `variables` and `extensions`).

Python's decoder accepts what later breaks the server: nesting deep enough to exhaust the
re-encoders' recursion limits (orjson stops at 254 levels), integers past the 4,300 digits
Python converts, NaN and Infinity (not JSON at all), bytes that are not UTF-8 (a
UnicodeDecodeError, not a JSONDecodeError). Each is refused here as a MalformedJSON naming
what is wrong; the HTTP edge answers it with a coded 400, a WebSocket with its protocol's
answer to a malformed message.
"""

from __future__ import annotations

import json
import re
from typing import Any

# GraphQL's Int is 32-bit and money travels as strings: no request needs more digits.
MAX_INTEGER_DIGITS = 100


# PostgreSQL's text cannot hold NUL; UTF-8 cannot encode an unpaired surrogate.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
UNSTORABLE_TEXT = "text may not contain NUL characters or unpaired surrogates"
# The request parameters beside the document that the API reads itself.
_NAMED_PARAMETERS = ("operationName", "documentId")
# The document's text is hashed (persisted queries, trusted documents) before it is
# parsed: UTF-8 must encode it. NUL there is the parser's or the arguments' business.
_UNPAIRED_SURROGATE = re.compile("[\ud800-\udfff]")


def unstorable(text: str) -> bool:
    """Does this text hold a character PostgreSQL or UTF-8 refuses?"""
    return _UNSTORABLE.search(text) is not None


class MalformedJSON(json.JSONDecodeError):
    """The request's JSON cannot be accepted; the message says why.

    A JSONDecodeError, so that every reader of client JSON (the WebSocket transports
    among them) treats it as the malformed input it is.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason, "", 0)

    def __str__(self) -> str:
        return self.msg


def _integer(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INTEGER_DIGITS:
        raise MalformedJSON(f"an integer has more than {MAX_INTEGER_DIGITS} digits")
    return int(text)


def _no_constant(name: str) -> Any:
    raise MalformedJSON(f"{name} is not a JSON value")


def _check_depth(value: Any, max_depth: int) -> None:
    pending: list[tuple[Any, int]] = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, dict | list):
            if depth > max_depth:
                raise MalformedJSON(f"JSON nested deeper than {max_depth} levels")
            children = item.values() if isinstance(item, dict) else item
            pending.extend((child, depth + 1) for child in children)


def decode_request_json(data: str | bytes, *, max_depth: int) -> Any:
    """The decoded value, or MalformedJSON when it is not JSON the API accepts."""
    try:
        value = json.loads(data, parse_int=_integer, parse_constant=_no_constant)
    except MalformedJSON:
        raise
    except UnicodeDecodeError:
        raise MalformedJSON("the JSON is not valid UTF-8") from None
    except RecursionError:
        raise MalformedJSON(f"JSON nested deeper than {max_depth} levels") from None
    except ValueError as error:  # json.JSONDecodeError among them
        raise MalformedJSON(f"not valid JSON: {error}") from None
    _check_depth(value, max_depth)
    return value


def check_request_shape(value: Any) -> None:
    """A request is one JSON object, or a batch: a list of objects; the parameters beside
    its document (operation name, document id, extensions) hold storable text."""
    if isinstance(value, dict):
        check_parameters(value)
        return
    if isinstance(value, list) and all(isinstance(item, dict) for item in value):
        for item in value:
            check_parameters(item)
        return
    if isinstance(value, list):
        raise MalformedJSON("a batch is a list of request objects, each with its own query")
    raise MalformedJSON("the body must be a JSON object (or a list of them, a batch)")


def check_parameters(request: Any) -> None:
    """Refuse unstorable text in the parameters read before the document runs (the
    document's own arguments and variables are checked by schema/input_limits.py)."""
    for name in _NAMED_PARAMETERS:
        value = request.get(name)
        if isinstance(value, str) and unstorable(value):
            raise MalformedJSON(f"{name}: {UNSTORABLE_TEXT}")
    if _holds_unstorable(request.get("extensions")):
        raise MalformedJSON(f"extensions: {UNSTORABLE_TEXT}")
    query = request.get("query")
    if isinstance(query, str) and _UNPAIRED_SURROGATE.search(query):
        raise MalformedJSON("query: text may not contain unpaired surrogates")


def _holds_unstorable(value: Any) -> bool:
    if isinstance(value, str):
        return unstorable(value)
    if isinstance(value, dict):
        return any(_holds_unstorable(k) or _holds_unstorable(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_holds_unstorable(item) for item in value)
    return False
