"""The fixed demo credentials of `autobroker dev`, and the check that refuses them.

Three users (buyer, dealer, admin) share the password `demo-password`, and the partner
"demo-partner" holds a fixed API key: the same on every machine and every restart, so
they can be pasted from the README. They are marked `is_demo`; `autobroker serve` will
not start while any live one is in the database. Only `dev` (development) creates them.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from auth.passwords import hash_password
from models.account import ApiKey, User, UserRole
from models.dealer import Dealer
from services.accounts.partners import partner_id_for, store_api_key

user_table: sa.Table = User.__table__  # type: ignore[attr-defined]
api_key_table: sa.Table = ApiKey.__table__  # type: ignore[attr-defined]
dealer_table: sa.Table = Dealer.__table__  # type: ignore[attr-defined]

DEMO_PASSWORD = "demo-password"  # noqa: S105 - a published development credential
DEMO_ACCOUNTS: tuple[tuple[str, UserRole], ...] = (
    ("buyer@example.com", UserRole.BUYER),
    ("dealer@example.com", UserRole.DEALER),
    ("admin@example.com", UserRole.ADMIN),
)
DEMO_PARTNER = "demo-partner"
DEMO_API_KEY_PREFIX = "demopartner1"
DEMO_API_KEY = f"ab_demo_{DEMO_API_KEY_PREFIX}_local-development-only-never-in-production"


@dataclass(frozen=True, slots=True)
class DemoCredentials:
    accounts: tuple[tuple[str, UserRole], ...]
    password: str
    dealer_id: int
    dealer_name: str
    partner: str
    api_key: str


async def _demo_dealer(conn: AsyncConnection) -> tuple[int, str]:
    row = (
        await conn.execute(
            sa.select(dealer_table.c.id, dealer_table.c.name).order_by(dealer_table.c.id).limit(1)
        )
    ).first()
    if row is not None:
        return int(row.id), str(row.name)
    name = "Auto-Broker Demo Motors"
    created = await conn.execute(
        dealer_table.insert()
        .values(name=name, country="DE", city="Berlin", rating=Decimal("4.5"))
        .returning(dealer_table.c.id)
    )
    return int(created.scalar_one()), name


async def ensure_demo_accounts(engine: AsyncEngine) -> DemoCredentials:
    """Create (or reset) the demo users and the demo partner key; development only."""
    password_hash = await hash_password(DEMO_PASSWORD)
    async with engine.begin() as conn:
        dealer_id, dealer_name = await _demo_dealer(conn)
        for email, role in DEMO_ACCOUNTS:
            values = {
                "email": email,
                "password_hash": password_hash,
                "role": role.value,
                "dealer_id": dealer_id if role is UserRole.DEALER else None,
                "is_demo": True,
            }
            await conn.execute(
                insert(user_table)
                .values(**values)
                .on_conflict_do_update(index_elements=["email"], set_=values)
            )
        partner_id = await partner_id_for(conn, DEMO_PARTNER)
        await store_api_key(
            conn, partner_id, prefix=DEMO_API_KEY_PREFIX, key=DEMO_API_KEY, is_demo=True
        )
    return DemoCredentials(
        accounts=DEMO_ACCOUNTS,
        password=DEMO_PASSWORD,
        dealer_id=dealer_id,
        dealer_name=dealer_name,
        partner=DEMO_PARTNER,
        api_key=DEMO_API_KEY,
    )


async def demo_credentials_present(engine: AsyncEngine) -> bool:
    """Whether any demo user or live demo API key is in the database."""
    users = sa.select(user_table.c.id).where(user_table.c.is_demo)
    keys = sa.select(api_key_table.c.id).where(
        api_key_table.c.is_demo, api_key_table.c.revoked_at.is_(None)
    )
    async with engine.connect() as conn:
        found = await conn.execute(sa.select(sa.or_(sa.exists(users), sa.exists(keys))))
        return bool(found.scalar_one())


async def remove_demo_credentials(engine: AsyncEngine) -> int:
    """Delete the demo users and revoke the demo API key; how many were removed."""
    async with engine.begin() as conn:
        users = await conn.execute(user_table.delete().where(user_table.c.is_demo))
        keys = await conn.execute(
            api_key_table.update()
            .where(api_key_table.c.is_demo, api_key_table.c.revoked_at.is_(None))
            .values(revoked_at=sa.func.now())
        )
    return int(users.rowcount) + int(keys.rowcount)
