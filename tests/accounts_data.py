"""Accounts for tests: users written straight to the database, tokens signed with the
test settings, fresh VINs and vehicles; shared by the integration and API tests."""

from __future__ import annotations

import functools
import random
import uuid
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from auth.passwords import HASHER
from core.settings import Settings
from models.account import User, UserRole
from services.accounts.sessions import AccountPolicy, sign_in_user
from services.vehicles.listing import create_listing
from services.vehicles.vin import make_vin

PASSWORD = "correct horse battery staple"
user_table: sa.Table = User.__table__  # type: ignore[attr-defined]
_rng = random.Random()


@functools.cache
def password_hash() -> str:
    return HASHER.hash(PASSWORD)


@dataclass(frozen=True)
class TestUser:
    __test__ = False  # not a test class, whatever its name

    id: int
    email: str
    role: UserRole
    dealer_id: int | None
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def unique_email(label: str = "user") -> str:
    return f"{label}-{uuid.uuid4().hex[:12]}@example.org"


async def create_user(
    engine: AsyncEngine,
    settings: Settings,
    role: UserRole,
    *,
    dealer_id: int | None = None,
    email: str | None = None,
) -> TestUser:
    """A user with the password PASSWORD, and an access token for it."""
    address = email or unique_email(role.value.lower())
    async with engine.begin() as conn:
        user_id = (
            await conn.execute(
                user_table.insert()
                .values(email=address, password_hash=password_hash(), role=role.value,
                        dealer_id=dealer_id)
                .returning(user_table.c.id)
            )
        ).scalar_one()  # fmt: skip
    session = await sign_in_user(engine, AccountPolicy.from_settings(settings), user_id)
    return TestUser(user_id, address, role, dealer_id, session.access_token)


def new_vin() -> str:
    return make_vin(_rng, "ZTS", _rng.randint(2012, 2023))


def vehicle_values(**overrides: Any) -> dict[str, Any]:
    """Service-level values of a valid listing with a fresh VIN."""
    return {
        "vin": new_vin(), "make": "Skoda", "model": "Octavia", "trim": "Style", "year": 2020,
        "first_registration": None, "mileage_km": 42_000, "fuel": "DIESEL",
        "transmission": "MANUAL", "body_type": "ESTATE", "colour": "Grey", "power_kw": 110,
        "co2_g_km": 118, "location_country": "CZ", "location_city": "Brno",
        "price_minor": 1_899_000, "currency": "EUR", **overrides,
    }  # fmt: skip


async def create_vehicle(
    engine: AsyncEngine, redis: Redis, dealer_id: int, **overrides: Any
) -> Any:
    """A fresh AVAILABLE vehicle of `dealer_id`; returns its row."""
    return await create_listing(engine, redis, dealer_id, vehicle_values(**overrides))


async def trust(engine: AsyncEngine, partner_name: str, *queries: str) -> None:
    """Register these operations for the partner: partners run registered ones only."""
    import hashlib

    from graphql import OperationDefinitionNode, parse

    from services.accounts.documents import add_documents, parse_manifest
    from services.accounts.partners import partner_id_for

    entries = []
    for query in queries:
        [operation] = [
            d for d in parse(query).definitions if isinstance(d, OperationDefinitionNode)
        ]
        entries.append({"id": "t-" + hashlib.sha256(query.encode()).hexdigest()[:16],
                        "type": operation.operation.value, "body": query})  # fmt: skip
    manifest = {"format": "apollo-persisted-query-manifest", "version": 1, "operations": entries}
    async with engine.begin() as conn:
        partner_id = await partner_id_for(conn, partner_name)
    await add_documents(engine, partner_id, parse_manifest(manifest))
