"""Dealer listing: keyset pagination by name, and lookups by id."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from models.dealer import Dealer
from services.errors import InvalidArgumentError

dealer_table: sa.Table = Dealer.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class DealerPage:
    rows: Sequence[Any]
    has_next_page: bool
    has_previous_page: bool


def encode_dealer_cursor(row: Any) -> str:
    return (
        base64.urlsafe_b64encode(orjson.dumps(["DEALER", row["name"], row["id"]]))
        .rstrip(b"=")
        .decode()
    )


def decode_dealer_cursor(cursor: str, *, argument: str) -> tuple[str, int]:
    """(name, id) of a dealer cursor; `InvalidArgumentError` when it is not one."""
    try:
        kind, name, row_id = orjson.loads(
            base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        )
    except (binascii.Error, orjson.JSONDecodeError, ValueError, TypeError):
        raise InvalidArgumentError(argument, "not a valid cursor") from None
    if kind != "DEALER" or not isinstance(name, str) or not isinstance(row_id, int):
        raise InvalidArgumentError(argument, "not a valid cursor")
    return name, row_id


async def fetch_dealer_page(
    conn: AsyncConnection,
    *,
    country: str | None,
    limit: int,
    after: tuple[str, int] | None = None,
    before: tuple[str, int] | None = None,
    backwards: bool = False,
) -> DealerPage:
    """One page of dealers ordered by name, optionally in one country."""
    c = dealer_table.c
    where: list[sa.ColumnElement[bool]] = []
    if country is not None:
        where.append(c.country == country)
    key = sa.tuple_(c.name, c.id)
    if after is not None:
        where.append(key > sa.tuple_(sa.literal(after[0]), sa.literal(after[1], sa.BigInteger)))
    if before is not None:
        where.append(key < sa.tuple_(sa.literal(before[0]), sa.literal(before[1], sa.BigInteger)))
    order = [c.name.desc(), c.id.desc()] if backwards else [c.name.asc(), c.id.asc()]
    statement = sa.select(dealer_table).where(*where).order_by(*order).limit(limit + 1)
    rows = list((await conn.execute(statement)).mappings())
    more = len(rows) > limit
    rows = rows[:limit]
    if backwards:
        rows.reverse()
        return DealerPage(rows, has_next_page=before is not None, has_previous_page=more)
    return DealerPage(rows, has_next_page=more, has_previous_page=after is not None)


async def count_dealers(conn: AsyncConnection, *, country: str | None) -> int:
    """How many dealers there are, optionally in one country."""
    statement = sa.select(sa.func.count()).select_from(dealer_table)
    if country is not None:
        statement = statement.where(dealer_table.c.country == country)
    return int((await conn.execute(statement)).scalar_one())


async def fetch_dealers_by_ids(conn: AsyncConnection, ids: Collection[int]) -> dict[int, Any]:
    """Dealers by primary key, as a map from id to row."""
    result = await conn.execute(sa.select(dealer_table).where(dealer_table.c.id.in_(list(ids))))
    return {row["id"]: row for row in result.mappings()}
