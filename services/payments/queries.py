"""Reading payments and refunds for the API: by id, and grouped by order or payment."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from services.payments.records import payments, refunds

# Everything but the idempotency key, which is the server's business.
_PAYMENT_COLUMNS = [c for c in payments.c if c.name != "idempotency_key"]
_REFUND_COLUMNS = [c for c in refunds.c if c.name != "idempotency_key"]


async def fetch_payments_by_ids(conn: AsyncConnection, ids: Collection[int]) -> dict[int, Any]:
    """Payment rows by id."""
    result = await conn.execute(sa.select(*_PAYMENT_COLUMNS).where(payments.c.id.in_(list(ids))))
    return {row["id"]: row for row in result.mappings()}


async def fetch_payments_by_order_ids(
    conn: AsyncConnection, ids: Collection[int]
) -> dict[int, list[Any]]:
    """Each order's payments, attempt by attempt."""
    result = await conn.execute(
        sa.select(*_PAYMENT_COLUMNS)
        .where(payments.c.order_id.in_(list(ids)))
        .order_by(payments.c.order_id, payments.c.attempt)
    )
    grouped: dict[int, list[Any]] = defaultdict(list)
    for row in result.mappings():
        grouped[row["order_id"]].append(row)
    return grouped


async def fetch_refunds_by_ids(conn: AsyncConnection, ids: Collection[int]) -> dict[int, Any]:
    """Refund rows by id."""
    result = await conn.execute(sa.select(*_REFUND_COLUMNS).where(refunds.c.id.in_(list(ids))))
    return {row["id"]: row for row in result.mappings()}


async def fetch_refunds_by_payment_ids(
    conn: AsyncConnection, ids: Collection[int]
) -> dict[int, list[Any]]:
    """Each payment's refunds, attempt by attempt."""
    result = await conn.execute(
        sa.select(*_REFUND_COLUMNS)
        .where(refunds.c.payment_id.in_(list(ids)))
        .order_by(refunds.c.payment_id, refunds.c.attempt)
    )
    grouped: dict[int, list[Any]] = defaultdict(list)
    for row in result.mappings():
        grouped[row["payment_id"]].append(row)
    return grouped
