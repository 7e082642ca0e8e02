"""The HTTP requests a scenario sends, independent of who sends them (wrk or httpx)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import orjson

JSON_HEADERS = (("Content-Type", "application/json"), ("Accept", "application/json"))


@dataclass(frozen=True, slots=True)
class HttpRequest:
    method: str
    path: str  # with its query string
    body: bytes | None = None
    headers: tuple[tuple[str, str], ...] = JSON_HEADERS


def graphql_post(query: str, variables: Mapping[str, Any]) -> HttpRequest:
    """A GraphQL operation sent by POST, as a web client sends it."""
    body = orjson.dumps({"query": query, "variables": variables})
    return HttpRequest("POST", "/graphql", body)


def graphql_get(params: Mapping[str, Any]) -> HttpRequest:
    """A GraphQL query sent by GET; `variables` and `extensions` are JSON-encoded."""
    encoded = {
        name: value if isinstance(value, str) else orjson.dumps(value).decode()
        for name, value in params.items()
    }
    return HttpRequest(
        "GET", "/graphql?" + urlencode(encoded), None, (("Accept", "application/json"),)
    )
