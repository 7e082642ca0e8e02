"""Fixtures of the account and permission tests: an engine, two dealers, users of every
role with access tokens, a partner key, clients from chosen addresses."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from core.settings import Settings
from models.account import UserRole
from services.accounts.partners import create_api_key
from tests.accounts_data import TestUser, create_user


@pytest.fixture
async def fresh_throttle(redis: Redis) -> None:
    """No sign-in attempts counted yet, from any address or on any account."""
    keys = [key async for key in redis.scan_iter(match="throttle:*")]
    if keys:
        await redis.delete(*keys)


@dataclass(frozen=True)
class Cast:
    """One user of every role; `dealer` lists for dealer_ids[0], `other_dealer` for [1]."""

    buyer: TestUser
    dealer: TestUser
    other_dealer: TestUser
    admin: TestUser
    partner_key: str
    dealer_ids: tuple[int, int]


@pytest.fixture(scope="session")
async def cast(engine: AsyncEngine, settings: Settings) -> Cast:
    async with engine.connect() as conn:
        ids = (await conn.execute(sa.text("SELECT id FROM dealer ORDER BY id LIMIT 2"))).scalars()
        first, second = list(ids)
    key = await create_api_key(engine, "cast-partner")
    return Cast(
        buyer=await create_user(engine, settings, UserRole.BUYER),
        dealer=await create_user(engine, settings, UserRole.DEALER, dealer_id=first),
        other_dealer=await create_user(engine, settings, UserRole.DEALER, dealer_id=second),
        admin=await create_user(engine, settings, UserRole.ADMIN),
        partner_key=key.key,
        dealer_ids=(first, second),
    )


@pytest.fixture
def client_from(app: Any) -> Callable[[str], AbstractAsyncContextManager[httpx.AsyncClient]]:
    """Clients whose requests come from a given address (as the throttle sees it)."""

    @asynccontextmanager
    async def open_client(address: str) -> AsyncIterator[httpx.AsyncClient]:
        transport = httpx.ASGITransport(app=app, client=(address, 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            yield c

    return open_client
