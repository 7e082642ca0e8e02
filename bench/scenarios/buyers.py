"""What the buying scenarios need: buyer accounts, and vehicles no read scenario shows.

Buyers are written straight to the database (one password hash for all: nobody signs in
with it) and get access tokens signed with the settings' JWT secret, which every server
of the benchmark shares (bench/servers.py).

An order moves its vehicle (RESERVED, then SOLD) and, through the demand adjustment and
the listed count, the delivered price of its comparables (same make and model, model
year within the rules' window). So the vehicles handed out here are AVAILABLE, do not
match the catalog page's filter, and are no comparable of a vehicle the catalog page or
the vehicle page shows: the read scenarios answer the same before and after, also on a
database kept with `--data-dir` and run again. Each is handed out once.
"""

from __future__ import annotations

import asyncio
import secrets
import uuid
from dataclasses import dataclass

import asyncpg
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from auth.passwords import HASHER
from bench.operations import CATALOG_PAGE_VARIABLES
from bench.scenario import BenchEnv
from bench.scenarios.catalog import VehicleDetail
from core.settings import Settings
from models.account import User, UserRole
from services.accounts.sessions import AccountPolicy, sign_in_user
from services.pricing.rules import current_rules

TOKEN_TTL_SECONDS = 3600  # longer than any one scenario runs
REFILL = 500

users: sa.Table = User.__table__  # type: ignore[attr-defined]

# Vehicles the read scenarios show: the detail page's, and every match of the catalog
# page's filter (its page and its totalCount). $1: detail ids, $2: fuels, $3: year min.
_SPARE = """
WITH shown AS (
    SELECT lower(make) AS make, lower(model) AS model, year FROM vehicle
    WHERE id = ANY($1::bigint[]) OR (fuel = ANY($2::text[]) AND year >= $3)
)
SELECT v.id FROM vehicle AS v
WHERE v.status = 'AVAILABLE' AND v.id < $5
  AND NOT (v.fuel = ANY($2::text[]) AND v.year >= $3)
  AND NOT EXISTS (
      SELECT 1 FROM shown AS s
      WHERE s.make = lower(v.make) AND s.model = lower(v.model)
        AND s.year BETWEEN v.year - $4 AND v.year + $4)
ORDER BY v.id DESC
LIMIT $6
"""


@dataclass(frozen=True, slots=True)
class Buyer:
    id: int
    token: str

    @property
    def authorization(self) -> str:
        return f"Bearer {self.token}"


async def create_buyers(engine: AsyncEngine, settings: Settings, count: int) -> list[Buyer]:
    """`count` new BUYER accounts, with access tokens valid for an hour."""
    password_hash = HASHER.hash(secrets.token_urlsafe(24))
    rows = [
        {
            "email": f"bench-buyer-{uuid.uuid4().hex[:16]}@example.org",
            "password_hash": password_hash,
            "role": UserRole.BUYER.value,
        }
        for _ in range(count)
    ]
    async with engine.begin() as conn:
        ids = (await conn.execute(users.insert().returning(users.c.id), rows)).scalars().all()
    policy = AccountPolicy.from_settings(
        settings.model_copy(update={"access_token_ttl_seconds": TOKEN_TTL_SECONDS})
    )
    # Each buyer signed in for real: access tokens name a live sign-in (sid).
    return [Buyer(pk, (await sign_in_user(engine, policy, pk)).access_token) for pk in ids]


class SpareVehicles:
    """AVAILABLE vehicles no read scenario shows, each handed out once, fetched as needed."""

    def __init__(self, dsn: str, detail_ids: list[int]) -> None:
        self._dsn = dsn
        self._detail_ids = detail_ids
        self._ready: list[int] = []
        self._below = 2**63 - 1  # the next batch's ids are below every one handed out
        self._lock = asyncio.Lock()  # buyers take concurrently; one refill at a time

    @classmethod
    async def of(cls, env: BenchEnv) -> SpareVehicles:
        detail = VehicleDetail()
        await detail.prepare(env)  # the same vehicles the vehicle page cycles over
        return cls(env.dsn, detail.vehicle_ids)

    async def take(self) -> int:
        async with self._lock:
            if not self._ready:
                await self._refill()
            return self._ready.pop(0)

    async def _refill(self) -> None:
        filter_ = CATALOG_PAGE_VARIABLES["filter"]
        conn = await asyncpg.connect(self._dsn)
        try:
            rows = await conn.fetch(
                _SPARE, self._detail_ids, list(filter_["fuel"]), filter_["yearMin"],
                current_rules().comparable_year_window, self._below, REFILL,
            )  # fmt: skip
        finally:
            await conn.close()
        if not rows:
            raise RuntimeError("no AVAILABLE vehicle left that the read scenarios do not show")
        self._ready = [row["id"] for row in rows]
        self._below = self._ready[-1]
