"""An access token is honoured only while its sign-in is alive and its account exists as
the token says: logout and a revoked sign-in end it at once, a deleted or forged account
is UNAUTHENTICATED before any rule runs, and Redis failing only costs a database read."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import httpx
import jwt
import pytest
import sqlalchemy as sa
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from auth.tokens import AccessClaims
from core.redis import create_redis
from core.settings import Settings
from models.account import UserRole
from services.accounts.session_check import SessionCheck
from tests.accounts_data import PASSWORD, create_user, create_vehicle
from tests.api.conftest import Cast
from tests.api.test_auth import LOGIN, LOGOUT, REFRESH
from tests.api.test_orders import CREATE, gid

pytestmark = pytest.mark.usefixtures("fresh_throttle")
ME = "{ me { email } }"
ENDED = "this sign-in has ended (signed out, revoked, or the account changed); sign in again"


async def _sign_in(client: httpx.AsyncClient, email: str) -> dict[str, str]:
    body = await client.post(
        "/graphql",
        json={"query": LOGIN, "variables": {"input": {"email": email, "password": PASSWORD}}},
    )
    tokens: dict[str, str] = body.json()["data"]["login"]
    return tokens


async def _me(client: httpx.AsyncClient, access_token: str) -> httpx.Response:
    return await client.post(
        "/graphql", json={"query": ME}, headers={"Authorization": f"Bearer {access_token}"}
    )


def _refused(response: httpx.Response) -> None:
    assert response.status_code == 401
    assert response.json() == {
        "errors": [{"message": ENDED, "extensions": {"code": "UNAUTHENTICATED"}}]
    }


async def test_logout_ends_the_access_token_at_once(
    client: httpx.AsyncClient, engine: AsyncEngine, settings: Settings
) -> None:
    user = await create_user(engine, settings, UserRole.BUYER)
    tokens = await _sign_in(client, user.email)
    assert (await _me(client, tokens["accessToken"])).status_code == 200  # cached as alive
    logout = await client.post(
        "/graphql",
        json={"query": LOGOUT, "variables": {"input": {"refreshToken": tokens["refreshToken"]}}},
    )
    assert logout.json()["data"]["logout"]["revoked"] is True
    _refused(await _me(client, tokens["accessToken"]))
    # Another sign-in of the same account is not affected.
    assert (await _me(client, user.token)).status_code == 200


async def test_a_reused_refresh_token_ends_every_access_token_of_the_sign_in(
    client: httpx.AsyncClient, engine: AsyncEngine, settings: Settings
) -> None:
    user = await create_user(engine, settings, UserRole.BUYER)
    tokens = await _sign_in(client, user.email)
    refresh = {"query": REFRESH, "variables": {"input": {"refreshToken": tokens["refreshToken"]}}}
    rotated = (await client.post("/graphql", json=refresh)).json()["data"]["refreshToken"]
    for access in (tokens["accessToken"], rotated["accessToken"]):
        assert (await _me(client, access)).status_code == 200
    replay = (await client.post("/graphql", json=refresh)).json()
    assert replay["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    for access in (tokens["accessToken"], rotated["accessToken"]):
        _refused(await _me(client, access))


async def test_a_deleted_users_token_cannot_create_an_order(
    client: httpx.AsyncClient, engine: AsyncEngine, redis: Redis, settings: Settings, cast: Cast
) -> None:
    user = await create_user(engine, settings, UserRole.BUYER)
    vehicle = await create_vehicle(engine, redis, cast.dealer_ids[0])
    async with engine.begin() as conn:
        await conn.execute(sa.text("DELETE FROM app_user WHERE id = :id"), {"id": user.id})
    variables = {"input": {"vehicleId": gid("Vehicle", vehicle["id"]), "destinationCountry": "DE"}}
    response = await client.post(
        "/graphql", json={"query": CREATE, "variables": variables}, headers=user.headers
    )
    _refused(response)


async def test_an_account_deleted_while_its_sign_in_is_cached_still_gets_no_order(
    client: httpx.AsyncClient, engine: AsyncEngine, redis: Redis, settings: Settings, cast: Cast
) -> None:
    user = await create_user(engine, settings, UserRole.BUYER)
    vehicle = await create_vehicle(engine, redis, cast.dealer_ids[0])
    assert (await _me(client, user.token)).status_code == 200  # its sign-in is cached alive
    async with engine.begin() as conn:
        await conn.execute(sa.text("DELETE FROM app_user WHERE id = :id"), {"id": user.id})
    variables = {"input": {"vehicleId": gid("Vehicle", vehicle["id"]), "destinationCountry": "DE"}}
    response = await client.post(
        "/graphql", json={"query": CREATE, "variables": variables}, headers=user.headers
    )
    body = response.json()
    assert body["data"] == {"createOrder": None}
    assert [error["extensions"]["code"] for error in body["errors"]] == ["UNAUTHENTICATED"]
    async with engine.connect() as conn:
        orders = await conn.scalar(
            sa.text("SELECT count(*) FROM orders WHERE vehicle_id = :v"), {"v": vehicle["id"]}
        )
    assert orders == 0


def _forge(settings: Settings, **claims: object) -> str:
    now = datetime.now(UTC)
    payload = {"iss": settings.jwt_issuer, "aud": settings.jwt_audience, "iat": now,
               "exp": now + timedelta(minutes=5), **claims}  # fmt: skip
    return jwt.encode(
        payload, settings.jwt_secret.get_secret_value(), algorithm="HS256",
        headers={"typ": "at+jwt"},
    )  # fmt: skip


async def test_a_well_signed_token_for_no_live_sign_in_is_refused(
    client: httpx.AsyncClient, engine: AsyncEngine, settings: Settings
) -> None:
    user = await create_user(engine, settings, UserRole.BUYER)
    async with engine.connect() as conn:
        family = await conn.scalar(
            sa.text("SELECT family_id FROM refresh_token WHERE user_id = :u"), {"u": user.id}
        )
    forged = {
        "an account that never was": _forge(settings, sub="987654321", role="ADMIN",
                                            sid=str(uuid.uuid4())),
        "a sign-in that never was": _forge(settings, sub=str(user.id), role="BUYER",
                                           sid=str(uuid.uuid4())),
        "a role the account lacks": _forge(settings, sub=str(user.id), role="ADMIN",
                                           sid=str(family)),
    }  # fmt: skip
    for name, token in forged.items():
        response = await _me(client, token)
        assert response.status_code == 401, name
        assert response.json()["errors"][0]["message"] == ENDED, name
    assert (await _me(client, _forge(settings, sub=str(user.id), role="BUYER",
                                     sid=str(family)))).status_code == 200  # fmt: skip


async def test_without_redis_the_check_asks_the_database(
    engine: AsyncEngine, settings: Settings
) -> None:
    user = await create_user(engine, settings, UserRole.BUYER)
    async with engine.connect() as conn:
        family = await conn.scalar(
            sa.text("SELECT family_id FROM refresh_token WHERE user_id = :u"), {"u": user.id}
        )
    broken = create_redis("redis://127.0.0.1:1/0")  # nothing listens there
    try:
        check = SessionCheck(engine, broken, cache_seconds=10)
        alive = AccessClaims(user.id, UserRole.BUYER, None, session_id=family)
        assert await check.alive(alive) is True
        assert await check.alive(AccessClaims(user.id, UserRole.BUYER, None, uuid.uuid4())) is False
    finally:
        await broken.aclose()
