"""Partners and their API keys: create (shown once), look up, revoke.

A partner may hold several keys at once, so a key can be rotated without downtime:
create the new one, deploy it, revoke the old one by its prefix. A revoked key stops
working on the next request of every replica (the check reads the database).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from auth.api_keys import LIVE, api_key_hash, generate_api_key
from models.account import ApiKey, Partner
from services.audit.log import SYSTEM, record
from services.errors import InvalidArgumentError

partner_table: sa.Table = Partner.__table__  # type: ignore[attr-defined]
api_key_table: sa.Table = ApiKey.__table__  # type: ignore[attr-defined]

MAX_PARTNER_NAME_LENGTH = 100


@dataclass(frozen=True, slots=True)
class CreatedApiKey:
    partner_id: int
    partner_name: str
    prefix: str
    key: str


@dataclass(frozen=True, slots=True)
class LiveApiKey:
    partner_id: int
    key_hash: str


async def partner_id_for(conn: AsyncConnection, name: str) -> int:
    """The id of the partner called `name`, created if there is none."""
    clean = name.strip()
    if not clean or len(clean) > MAX_PARTNER_NAME_LENGTH:
        raise InvalidArgumentError("partner", f"1 to {MAX_PARTNER_NAME_LENGTH} characters")
    await conn.execute(insert(partner_table).values(name=clean).on_conflict_do_nothing())
    found = await conn.execute(sa.select(partner_table.c.id).where(partner_table.c.name == clean))
    return int(found.scalar_one())


async def store_api_key(
    conn: AsyncConnection, partner_id: int, *, prefix: str, key: str, is_demo: bool = False
) -> None:
    """Store the hash of `key` under `prefix` (live again if it was revoked)."""
    values = {"partner_id": partner_id, "prefix": prefix, "key_hash": api_key_hash(key)}
    await conn.execute(
        insert(api_key_table)
        .values(**values, is_demo=is_demo)
        .on_conflict_do_update(
            index_elements=["prefix"], set_={**values, "is_demo": is_demo, "revoked_at": None}
        )
    )


async def create_api_key(engine: AsyncEngine, partner_name: str) -> CreatedApiKey:
    """A new key for the partner (created if new); the key text is returned only here."""
    generated = generate_api_key(kind=LIVE)
    async with engine.begin() as conn:
        partner_id = await partner_id_for(conn, partner_name)
        await store_api_key(conn, partner_id, prefix=generated.prefix, key=generated.text)
        await record(
            conn, "api_key.created", actor=SYSTEM, subject=("Partner", partner_id),
            details={"prefix": generated.prefix},
        )  # fmt: skip
    return CreatedApiKey(partner_id, partner_name.strip(), generated.prefix, generated.text)


async def revoke_api_key(engine: AsyncEngine, prefix: str) -> bool:
    """Revoke the live key with this prefix; False when there is no such live key."""
    async with engine.begin() as conn:
        result = await conn.execute(
            api_key_table.update()
            .where(api_key_table.c.prefix == prefix.strip(), api_key_table.c.revoked_at.is_(None))
            .values(revoked_at=datetime.now(UTC))
            .returning(api_key_table.c.partner_id)
        )
        partner_id = result.scalar()
        if partner_id is not None:
            await record(
                conn, "api_key.revoked", actor=SYSTEM, subject=("Partner", partner_id),
                details={"prefix": prefix.strip()},
            )  # fmt: skip
    return partner_id is not None


async def find_live_api_key(engine: AsyncEngine, prefix: str) -> LiveApiKey | None:
    """The unrevoked key with this prefix, for authentication; None if there is none."""
    c = api_key_table.c
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                sa.select(c.partner_id, c.key_hash).where(
                    c.prefix == prefix, c.revoked_at.is_(None)
                )
            )
        ).first()
    return None if row is None else LiveApiKey(partner_id=row.partner_id, key_hash=row.key_hash)
