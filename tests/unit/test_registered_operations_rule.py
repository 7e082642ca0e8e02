"""Who must run registered operations: one rule for HTTP, WebSocket and SSE."""

from __future__ import annotations

import pytest

from auth.principal import ANONYMOUS, Principal
from auth.registered_operations import (
    held_to_registered_operations,
    marked_by_graphiql,
    registry_of,
)
from models.account import UserRole

BUYER = Principal.user(7, UserRole.BUYER)
ADMIN = Principal.user(1, UserRole.ADMIN)
PARTNER = Principal.partner(3)


@pytest.mark.parametrize("development", [False, True])
@pytest.mark.parametrize("graphiql", [False, True])
def test_a_partner_is_always_held(development: bool, graphiql: bool) -> None:
    for required in (False, True):
        assert held_to_registered_operations(
            PARTNER, required=required, development=development, graphiql=graphiql
        )


def test_the_switch_holds_everyone_but_staff() -> None:
    def held(principal: Principal, **flags: bool) -> bool:
        return held_to_registered_operations(
            principal, **{"required": True, "development": False, "graphiql": False, **flags}
        )

    assert held(ANONYMOUS)
    assert held(BUYER)
    assert not held(ADMIN)
    assert not held(BUYER, required=False)
    assert held(BUYER, graphiql=True)  # the mark is anyone's: outside development, nothing
    assert not held(BUYER, graphiql=True, development=True)


def test_graphiqls_mark_in_headers_or_a_connection_init_payload() -> None:
    assert marked_by_graphiql({"x-graphiql": "1"})
    assert marked_by_graphiql({"X-GraphiQL": "1", "Authorization": "Bearer t"})
    assert not marked_by_graphiql({"X-GraphiQL": 1})
    assert not marked_by_graphiql({"X-GraphiQL": "0"})
    assert not marked_by_graphiql({})


def test_the_registry_is_the_partners_or_the_first_partys() -> None:
    assert registry_of(PARTNER) == 3
    assert registry_of(BUYER) is None
    assert registry_of(ADMIN) is None
