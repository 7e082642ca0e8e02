"""The shape of a client's WebSocket message, checked before Strawberry's handlers read it.

Strawberry's handlers index a message as a dict of the right shape: a JSON array, a
number, a payload that is a string or an id that is a list raises a TypeError there,
which ends the socket abnormally (1006) instead of with the protocol's answer. These
checks follow graphql-ws's own message validation (its `validateMessage`): each returns
None for a well-formed message, or what is wrong with it.
"""

from __future__ import annotations

from typing import Any

TRANSPORT_WS_CLIENT_TYPES = ("connection_init", "ping", "pong", "subscribe", "complete")
LEGACY_WS_CLIENT_TYPES = ("connection_init", "start", "stop", "connection_terminate")


def _optional(value: Any, kind: type | tuple[type, ...]) -> bool:
    return value is None or isinstance(value, kind)


def _id_problem(message: dict[str, Any]) -> str | None:
    op_id = message.get("id")
    if not isinstance(op_id, str) or not op_id:
        return f"a {message['type']} message needs an id, a non-empty string"
    return None


def _operation_problem(payload: Any, message_type: str) -> str | None:
    """What is wrong with the payload of a subscribe (or legacy start) message."""
    if not isinstance(payload, dict):
        return f"the payload of a {message_type} message must be an object"
    if not isinstance(payload.get("query"), str):
        return f"the payload of a {message_type} message needs a query, a string"
    if not _optional(payload.get("variables"), dict):
        return "variables must be an object"
    if not _optional(payload.get("operationName"), str):
        return "operationName must be a string"
    if not _optional(payload.get("extensions"), dict):
        return "extensions must be an object"
    return None


def _envelope_problem(message: Any, known: tuple[str, ...]) -> str | None:
    if not isinstance(message, dict):
        return "a message must be a JSON object"
    kind = message.get("type")
    if not isinstance(kind, str):
        return "a message needs a type, a string"
    if kind not in known:
        return f"unknown message type: {kind[:40]}"
    if kind == "connection_init" and not _optional(message.get("payload"), dict):
        return "the payload of connection_init must be an object"
    return None


def transport_ws_problem(message: Any) -> str | None:
    """What is wrong with a graphql-transport-ws message from a client (None: nothing)."""
    problem = _envelope_problem(message, TRANSPORT_WS_CLIENT_TYPES)
    if problem is not None:
        return problem
    kind = message["type"]
    if kind in ("ping", "pong") and not _optional(message.get("payload"), dict):
        return f"the payload of {kind} must be an object"
    if kind in ("subscribe", "complete") and (problem := _id_problem(message)):
        return problem
    if kind == "subscribe":
        return _operation_problem(message.get("payload"), kind)
    return None


def legacy_ws_problem(message: Any) -> str | None:
    """What is wrong with a legacy graphql-ws message from a client (None: nothing)."""
    problem = _envelope_problem(message, LEGACY_WS_CLIENT_TYPES)
    if problem is not None:
        return problem
    kind = message["type"]
    if kind in ("start", "stop") and (problem := _id_problem(message)):
        return problem
    if kind == "start":
        return _operation_problem(message.get("payload"), kind)
    return None
