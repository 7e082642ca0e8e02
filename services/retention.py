"""Retention: what is removed when it is no longer needed (README "Data inventory").

Each sweep deletes one kind of record past its retention and returns how many; each is
safe to run twice and at any time. The audit purge removes the oldest entries only (the
chain is then checked from the oldest kept one), and the database itself refuses to
remove one younger than 30 days (migration 0014).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from models.account import RefreshToken
from models.audit import AuditEntry
from models.order import Order
from models.quote import Quote

audit_table: sa.Table = AuditEntry.__table__  # type: ignore[attr-defined]
tokens: sa.Table = RefreshToken.__table__  # type: ignore[attr-defined]
quotes: sa.Table = Quote.__table__  # type: ignore[attr-defined]
orders: sa.Table = Order.__table__  # type: ignore[attr-defined]


def _cutoff(age: timedelta, now: datetime | None) -> datetime:
    return (now or datetime.now(UTC)) - age


async def purge_audit_entries(
    engine: AsyncEngine, retention: timedelta, *, now: datetime | None = None
) -> int:
    """Delete audit entries older than `retention` (the trigger allows it for this
    transaction only, and never for an entry younger than 30 days)."""
    async with engine.begin() as conn:
        await conn.execute(sa.text("SET LOCAL autobroker.audit_purge = 'on'"))
        result = await conn.execute(
            audit_table.delete().where(audit_table.c.at < _cutoff(retention, now))
        )
    return int(result.rowcount)


async def sweep_sessions(
    engine: AsyncEngine, retention: timedelta, *, now: datetime | None = None
) -> int:
    """Delete refresh tokens expired or revoked more than `retention` ago."""
    cutoff = _cutoff(retention, now)
    c = tokens.c
    async with engine.begin() as conn:
        result = await conn.execute(
            tokens.delete().where(
                sa.or_(c.expires_at < cutoff, c.revoked_at < cutoff),
            )
        )
    return int(result.rowcount)


async def sweep_quotes(
    engine: AsyncEngine, retention: timedelta, *, now: datetime | None = None
) -> int:
    """Delete quotes expired more than `retention` ago that no order was made with
    (an order's quote is part of its accounting record and stays with it)."""
    cutoff = _cutoff(retention, now)
    async with engine.begin() as conn:
        result = await conn.execute(
            quotes.delete().where(
                quotes.c.valid_until < cutoff,
                ~sa.exists().where(orders.c.quote_id == quotes.c.id),
            )
        )
    return int(result.rowcount)
