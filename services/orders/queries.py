"""Reading orders: by id, their events, and keyset pages for buyers, partners and staff."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from services.errors import InvalidArgumentError
from services.orders.transitions import order_events, orders
from services.pagination import INVALID_CURSOR, Page, decode_cursor, encode_cursor, page_of


@dataclass(frozen=True, slots=True)
class OrderScope:
    """Whose orders a listing covers: one buyer's, one partner's, or everyone's."""

    buyer_id: int | None = None
    partner_id: int | None = None


@dataclass(frozen=True, slots=True)
class OrderFilter:
    statuses: tuple[str, ...] = ()
    vehicle_id: int | None = None
    buyer_id: int | None = None


async def fetch_orders_by_ids(conn: AsyncConnection, ids: Collection[int]) -> dict[int, Any]:
    """Order rows by id."""
    result = await conn.execute(sa.select(orders).where(orders.c.id.in_(list(ids))))
    return {row["id"]: row for row in result.mappings()}


async def fetch_events_by_order_ids(
    conn: AsyncConnection, ids: Collection[int], *, after_sequence: int = 0
) -> dict[int, list[Any]]:
    """Each order's events in sequence order (those after `after_sequence`)."""
    c = order_events.c
    result = await conn.execute(
        sa.select(order_events)
        .where(c.order_id.in_(list(ids)), c.sequence > after_sequence)
        .order_by(c.order_id, c.sequence)
    )
    grouped: dict[int, list[Any]] = defaultdict(list)
    for row in result.mappings():
        grouped[row["order_id"]].append(row)
    return {order_id: grouped.get(order_id, []) for order_id in ids}


def encode_order_cursor(row: Any) -> str:
    return encode_cursor("ORDER", row["created_at"].isoformat(), row["id"])


def decode_order_cursor(cursor: str, *, argument: str) -> tuple[datetime, int]:
    """(created_at, id) of an order cursor; `InvalidArgumentError` when it is not one."""
    kind, created, row_id = decode_cursor(cursor, argument=argument, length=3)
    try:
        if kind != "ORDER" or not isinstance(row_id, int):
            raise ValueError
        return datetime.fromisoformat(created), row_id
    except (ValueError, TypeError):
        raise InvalidArgumentError(argument, INVALID_CURSOR) from None


def _where(scope: OrderScope, flt: OrderFilter) -> list[sa.ColumnElement[bool]]:
    c = orders.c
    where: list[sa.ColumnElement[bool]] = []
    if scope.buyer_id is not None:
        where.append(c.buyer_id == scope.buyer_id)
    if scope.partner_id is not None:
        where.append(c.partner_id == scope.partner_id)
    if flt.statuses:
        where.append(c.status.in_(flt.statuses))
    if flt.vehicle_id is not None:
        where.append(c.vehicle_id == flt.vehicle_id)
    if flt.buyer_id is not None:
        where.append(c.buyer_id == flt.buyer_id)
    return where


async def fetch_order_page(
    conn: AsyncConnection,
    scope: OrderScope,
    flt: OrderFilter,
    *,
    limit: int,
    backwards: bool = False,
    after: tuple[datetime, int] | None = None,
    before: tuple[datetime, int] | None = None,
) -> Page[Any]:
    """Orders newest first, as a keyset page on (created_at, id)."""
    c = orders.c
    where = _where(scope, flt)
    key = sa.tuple_(c.created_at, c.id)
    if after is not None:
        where.append(
            key
            < sa.tuple_(
                sa.literal(after[0], c.created_at.type), sa.literal(after[1], sa.BigInteger)
            )
        )
    if before is not None:
        where.append(
            key
            > sa.tuple_(
                sa.literal(before[0], c.created_at.type), sa.literal(before[1], sa.BigInteger)
            )
        )
    order = [c.created_at.asc(), c.id.asc()] if backwards else [c.created_at.desc(), c.id.desc()]
    rows = list(
        (
            await conn.execute(sa.select(orders).where(*where).order_by(*order).limit(limit + 1))
        ).mappings()
    )
    return page_of(rows, limit, backwards=backwards, after=after, before=before)


async def count_orders(conn: AsyncConnection, scope: OrderScope, flt: OrderFilter) -> int:
    """How many orders the listing covers."""
    statement = sa.select(sa.func.count()).select_from(orders).where(*_where(scope, flt))
    return int((await conn.execute(statement)).scalar_one())
