"""Hand-made hostile requests: malformed bodies, hostile strings in every kind of string
argument, oversized inputs. Each is a `Request` (harness.py) with a label."""

from __future__ import annotations

import json
from collections.abc import Iterator

from tests.fuzz.harness import Request
from tests.fuzz.strategies import HOSTILE_TEXT, global_id

# Strings PostgreSQL refuses (NUL, a lone surrogate), and strings that are only hostile
# to careless code (SQL and JSON metacharacters, direction and zero-width marks, size).
HOSTILE_STRINGS: tuple[str, ...] = (*HOSTILE_TEXT, "\ud800", "a\udfffb", "x" * 900_000)

# Operations with one string variable $s, one for each kind of string argument.
STRING_OPERATIONS: dict[str, str] = {
    "search": "query($s: String) { vehicles(first: 2, filter: {search: $s}) { totalCount } }",
    "make": "query($s: String) { vehicles(first: 2, filter: {make: $s, model: $s}) { totalCount } }",
    "priceMin": "query($s: Decimal) { vehicles(first: 2, filter: {priceMin: $s}) { totalCount } }",
    "vehicleByVin": "query($s: String!) { vehicleByVin(vin: $s) { id } }",
    "vehicle": "query($s: ID!) { vehicle(id: $s) { id } }",
    "node": "query($s: ID!) { node(id: $s) { id } }",
    "nodes": "query($s: ID!) { nodes(ids: [$s, $s]) { id } }",
    "dealers": "query($s: String) { dealers(country: $s, first: 2) { totalCount } }",
    "dealer": "query($s: ID!) { dealer(id: $s) { id name } }",
    "quote": "query($s: ID!) { quote(id: $s) { id } }",
    "order": "query($s: ID!) { order(id: $s) { id } }",
    "feedRuns": "query($s: String) { feedRuns(source: $s, first: 2) { totalCount } }",
    "after": "query($s: String) { vehicles(first: 2, after: $s) { totalCount } }",
    "login": """mutation($s: String!) { login(input: {email: $s, password: $s}) {
        accessToken userErrors { field code } } }""",
    "register": """mutation($s: String!) { register(input: {email: $s, password: $s}) {
        accessToken userErrors { field code } } }""",
    "refreshToken": """mutation($s: String!) { refreshToken(input: {refreshToken: $s}) {
        accessToken userErrors { field code } } }""",
    "logout": """mutation($s: String!) { logout(input: {refreshToken: $s}) {
        userErrors { field code } } }""",
    "requestQuote": """mutation($s: String!) { requestQuote(input: {vehicleId: $s,
        destinationCountry: $s}) { userErrors { field code } } }""",
    "createOrder": """mutation($s: String!) { createOrder(input: {vehicleId: $s,
        destinationCountry: $s}) { userErrors { field code } } }""",
    "cancelOrder": """mutation($s: String!) { cancelOrder(input: {orderId: $s, reason: $s}) {
        userErrors { field code } } }""",
    "startFeedIngestion": """mutation($s: String!) { startFeedIngestion(input: {source: $s,
        url: $s}) { userErrors { field code } } }""",
}

# Known mixes that once broke a pooled connection: a resolver failing while a sibling
# still has SQL in flight on the operation's connection.
MIXED_NODES = (
    f'{{ nodes(ids: ["{global_id("Dealer", 1)}", "{global_id("FeedRun", 1)}"]) {{ id }} }}',
    f'{{ nodes(ids: ["!!"]) {{ id }} dealer(id: "{global_id("Dealer", 1)}") {{ id name }} }}',
    f'{{ a: node(id: "{global_id("Order", 1)}") {{ id }} b: vehicle(id: "!!") {{ id }} '
    f"c: dealers(first: 5) {{ totalCount }} }}",
)


def _nested(depth: int) -> object:
    value: object = "leaf"
    for _ in range(depth):
        value = {"a": value}
    return value


def malformed_bodies() -> Iterator[Request]:
    typename = {"query": "{ __typename }"}
    yield Request("empty body", content=b"")
    for raw in (b"null", b"[]", b"{}", b"true", b"42", b'"text"', b"{", b'{"query": }'):
        yield Request(f"body {raw.decode()!r}", content=raw)
    yield Request("invalid UTF-8", content=b'{"query": "{ __typename }\xff"}')
    yield Request("invalid UTF-8 in a key", content=b'{"qu\xc3\x28ery": "{ __typename }"}')
    yield Request("a BOM first", content=b"\xef\xbb\xbf" + json.dumps(typename).encode())
    yield Request("variables nested 255 deep", json={**typename, "variables": {"v": _nested(255)}})
    yield Request("body nested 5000 deep", content=b"[" * 5000 + b"]" * 5000)
    yield Request("a nested batch", json=[[typename]])
    yield Request("a batch of batches", json=[typename, [typename, [typename]]])
    yield Request("a batch of 50", json=[typename] * 50)
    huge = "9" * 5000
    yield Request(
        "an integer of 5000 digits in variables",
        content=b'{"query": "query($n: Int) { vehicles(first: $n) { totalCount } }", '
        b'"variables": {"n": ' + huge.encode() + b"}}",
    )
    yield Request(
        "a float overflow in variables",
        content=b'{"query": "query($n: Int) { vehicles(first: $n) { totalCount } }", '
        b'"variables": {"n": 1e400}}',
    )
    yield Request(
        "an integer literal of 5000 digits",
        json={"query": f"{{ vehicles(first: {huge}) {{ totalCount }} }}"},
    )
    for name, value in (("query", 42), ("query", ["{ __typename }"]), ("variables", "{}"),
                        ("variables", [1]), ("operationName", {"a": 1}), ("extensions", "x"),
                        ("extensions", {"persistedQuery": "x"}), ("documentId", 7)):  # fmt: skip
        body = {**typename, name: value} if name != "query" else {"query": value}
        yield Request(f"{name} as {type(value).__name__}", json=body)
    yield Request("a 900 KB query", json={"query": "{ __typename " + " " * 900_000 + "}"})
    yield Request("a 2 MB body", content=b'{"query": "' + b" " * 2_000_000 + b'"}')
    yield Request("a 900 KB comment", json={"query": "#" + "x" * 900_000 + "\n{ __typename }"})
    yield Request(
        "10,000 unknown fields",
        json={"query": "{ " + " ".join(f"f{i}" for i in range(10_000)) + " }"},
    )
    yield Request(
        "200 unknown 2 KB fields",
        json={"query": "{ " + " ".join("q" * 2000 + str(i) for i in range(200)) + " }"},
    )
    yield Request("a NUL in the query", json={"query": "{ __typename \x00 }"})
    yield Request("a lone surrogate in the query", json={"query": "{ __typename } # \ud800"})
    unknown_hash = {"persistedQuery": {"version": 1, "sha256Hash": "0" * 64}}
    yield Request(
        "a persisted query's text with a lone surrogate",
        json={"query": "{ __typename } # \ud800", "extensions": unknown_hash},
    )
    yield Request("text/plain", content=b"{ __typename }", headers={"content-type": "text/plain"})
    yield Request(
        "form encoded",
        content=b"query=%7B__typename%7D",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    yield Request("GET with bad variables", params={"query": "{ __typename }", "variables": "{"})
    yield Request("GET with a NUL", params={"query": "{ __typename \x00 }"})
    yield Request(
        "GET mutation", params={"query": 'mutation { logout(input: {refreshToken: "x"}) { ok } }'}
    )
    # Header values stay legal HTTP (a server refuses the others before any application).
    yield Request(
        "a 300-character Idempotency-Key", json=typename, headers={"idempotency-key": "k" * 300}
    )
    for token in ("Bearer not.a.token", "Bearer", "Basic dXNlcjpwYXNz", "Bearer " + "e" * 8000):
        yield Request(
            f"authorization {token[:20]!r}", json=typename, headers={"authorization": token}
        )
    yield Request("an unknown API key", json=typename, headers={"x-api-key": "ab_live_nope"})
    for query in MIXED_NODES:
        yield Request(f"mixed nodes {query[:60]}", json={"query": query})


def hostile_strings() -> Iterator[Request]:
    for name, query in STRING_OPERATIONS.items():
        for value in HOSTILE_STRINGS:
            yield Request(f"{name}({value[:12]!r}{'…' if len(value) > 12 else ''})",
                          json={"query": query, "variables": {"s": value}})  # fmt: skip


def corpus() -> Iterator[Request]:
    yield from malformed_bodies()
    yield from hostile_strings()
