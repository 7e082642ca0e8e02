"""Who must run registered operations (trusted documents), for HTTP, WebSocket and SSE alike.

- A partner (API key) always runs one of its own registered operations.
- With REQUIRE_REGISTERED_OPERATIONS, so does everyone else (against the first-party
  registry), except staff, and except GraphiQL in development: the page marks what it
  sends with `X-GraphiQL: 1`, as a header over HTTP and SSE and as the same key in the
  WebSocket's connection_init payload (a browser cannot set a socket's headers). The mark
  is anyone's to send, so it counts outside production only (`development`: the
  settings' `is_development`).

The edges differ only in where the document comes from (a documentId, a persisted
query's hash, or the text itself) and how a refusal is answered
(PERSISTED_QUERY_NOT_ALLOWED); who is held, and to which registry, is decided here.
"""

from __future__ import annotations

from collections.abc import Mapping

from auth.principal import Principal, PrincipalKind

GRAPHIQL_MARK = "x-graphiql"


def marked_by_graphiql(headers: Mapping[str, object]) -> bool:
    """Whether headers (or a connection_init payload) carry GraphiQL's mark, any case."""
    return any(
        str(name).lower() == GRAPHIQL_MARK and value == "1" for name, value in headers.items()
    )


def held_to_registered_operations(
    principal: Principal, *, required: bool, development: bool, graphiql: bool
) -> bool:
    """Whether this caller may run registered operations only (see the module docstring)."""
    if principal.kind is PrincipalKind.PARTNER:
        return True
    return required and not principal.is_admin and not (development and graphiql)


def registry_of(principal: Principal) -> int | None:
    """Whose registered operations the caller runs: its partner's, else the first-party's."""
    return principal.partner_id if principal.kind is PrincipalKind.PARTNER else None
