"""graphql-cop's checks (github.com/dolevf/graphql-cop, lib/tests/), each sent and judged
as the tool sends and judges it; `audit(url)` returns the titles of the checks it flags.

The tool is not on PyPI (the name there is an empty placeholder), so its checks are
rewritten here, one function each, with the tool's own requests and verdicts. Field
duplication, which the tool now leaves out, is kept: 500 copies of a field is no
request a client makes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

TIMEOUT = 20
GRAPHIQL_HEURISTICS = ("graphiql.min.css", "GraphQL Playground", "GraphiQL", "graphql-playground")


def _post(url: str, query: str, *, batch: bool = False) -> Any:
    """The tool's `graph_query`: a JSON POST named `cop` (or ten of them, batched)."""
    body: Any = [{"query": query}] * 10 if batch else {"query": query, "operationName": "cop"}
    try:
        return httpx.post(url, json=body, timeout=TIMEOUT).json()
    except ValueError:
        return None


def _get(url: str, **params: str) -> httpx.Response:
    return httpx.get(url, params=params, headers={"accept": "text/html"} if not params else {},
                     timeout=TIMEOUT)  # fmt: skip


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _dig(document: Any, *path: Any) -> Any:
    for step in path:
        try:
            document = document[step]
        except (KeyError, IndexError, TypeError):
            return None
    return document


def introspection(url: str) -> bool:
    answer = _post(url, "query cop { __schema { types { name fields { name } } } }")
    return bool(_dig(answer, "data", "__schema", "types"))


def field_suggestions(url: str) -> bool:
    answer = _post(url, "query cop { __schema { directive } }")
    return "Did you mean" in str(_dig(answer, "errors", 0, "message") or "")


def detect_graphiql(url: str) -> bool:
    return any(word in _get(url).text for word in GRAPHIQL_HEURISTICS)


def get_method_support(url: str) -> bool:
    return bool(_dig(_json(_get(url, query="query cop {__typename}")), "data", "__typename"))


def get_based_mutation(url: str) -> bool:
    return bool(_dig(_json(_get(url, query="mutation cop {__typename}")), "data", "__typename"))


def post_based_csrf(url: str) -> bool:
    response = httpx.post(url, data={"query": "query cop { __typename }"}, timeout=TIMEOUT)
    return bool(_dig(_json(response), "data", "__typename"))


def alias_overloading(url: str) -> bool:
    aliases = "".join(f"alias{i}:__typename \n" for i in range(101))
    return bool(_dig(_post(url, "query cop { " + aliases + " }"), "data", "alias100"))


def field_duplication(url: str) -> bool:
    answer = _post(url, "query cop { " + "__typename \n" * 500 + "} ")
    return bool(_dig(answer, "data", "__typename"))


def batch_query(url: str) -> bool:
    answer = _post(url, "query cop { __typename }", batch=True)
    return isinstance(answer, list | dict) and len(answer) >= 10


def directive_overloading(url: str) -> bool:
    answer = _post(url, "query cop { __typename @aa@aa@aa@aa@aa@aa@aa@aa@aa@aa }")
    errors = _dig(answer, "errors")
    return isinstance(errors, list) and len(errors) == 10


def circular_query_introspection(url: str) -> bool:
    query = (
        "query cop { __schema { types { fields { type { fields { type { fields { type "
        "{ fields { type { name } } } } } } } } } } }"
    )
    types = _dig(_post(url, query), "data", "__schema", "types")
    return isinstance(types, list) and len(types) > 25


def trace_mode(url: str) -> bool:
    answer = _post(url, "query cop { __typename }")
    return bool(_dig(answer, "errors", 0, "extensions", "tracing")) or (
        "'extensions': {'tracing':" in str(answer).lower()
    )


def unhandled_error_detection(url: str) -> bool:
    answer = _post(url, "qwerty cop { abc }")
    return bool(_dig(answer, "errors", 0, "extensions", "exception")) or (
        "'extensions': {'exception':" in str(answer).lower()
    )


def is_graphql(url: str) -> bool:
    """The tool's own detection: it audits nothing it does not recognise as GraphQL."""
    return _dig(_post(url, "query cop { __typename }"), "data", "__typename") == "Query"


CHECKS: dict[str, Callable[[str], bool]] = {
    "Introspection": introspection,
    "Field Suggestions": field_suggestions,
    "GraphQL IDE": detect_graphiql,
    "GET Method Query Support": get_method_support,
    "Mutation is allowed over GET (possible CSRF)": get_based_mutation,
    "POST based url-encoded query (possible CSRF)": post_based_csrf,
    "Alias Overloading": alias_overloading,
    "Field Duplication": field_duplication,
    "Array-based Query Batching": batch_query,
    "Directive Overloading": directive_overloading,
    "Introspection-based Circular Query": circular_query_introspection,
    "Trace Mode": trace_mode,
    "Unhandled Errors Detection": unhandled_error_detection,
}


def audit(url: str) -> list[str]:
    """The titles of the checks that flag `url` (empty: nothing to report)."""
    return [title for title, check in CHECKS.items() if check(url)]
