"""Dealers: keyset pagination by name, lookups by id, and staff edits."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from models.dealer import Dealer
from services.audit.log import NO_CLIENT, SYSTEM, AuditActor, ClientInfo, record
from services.errors import DomainError, FieldProblem, FieldProblemsError, InvalidArgumentError
from services.pagination import INVALID_CURSOR, Page, decode_cursor, encode_cursor, page_of
from services.vehicles.changes import dealer_changed

dealer_table: sa.Table = Dealer.__table__  # type: ignore[attr-defined]


def encode_dealer_cursor(row: Any) -> str:
    return encode_cursor("DEALER", row["name"], row["id"])


def decode_dealer_cursor(cursor: str, *, argument: str) -> tuple[str, int]:
    """(name, id) of a dealer cursor; `InvalidArgumentError` when it is not one."""
    kind, name, row_id = decode_cursor(cursor, argument=argument, length=3)
    if kind != "DEALER" or not isinstance(name, str) or not isinstance(row_id, int):
        raise InvalidArgumentError(argument, INVALID_CURSOR)
    return name, row_id


async def fetch_dealer_page(
    conn: AsyncConnection,
    *,
    country: str | None,
    limit: int,
    after: tuple[str, int] | None = None,
    before: tuple[str, int] | None = None,
    backwards: bool = False,
) -> Page[Any]:
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
    return page_of(rows, limit, backwards=backwards, after=after, before=before)


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


# Editing a dealer (staff only; who may call is decided before, in auth/permissions.py).

MAX_NAME_LENGTH = 200
MAX_CITY_LENGTH = 100
MAX_RATING = Decimal("5.0")
RATING_STEP = Decimal("0.1")  # NUMERIC(2,1): one decimal place
_TEXT_LIMITS = {"name": MAX_NAME_LENGTH, "city": MAX_CITY_LENGTH}
EDITABLE = ("name", "city", "rating")  # in the order their problems are reported


class DealerRefusedError(FieldProblemsError):
    """The changes break rules; every field at fault is named."""


class DealerNotFoundError(DomainError):
    """No dealer has this id."""


def _rating_problem(rating: Decimal) -> FieldProblem | None:
    if not rating.is_finite() or not 0 <= rating <= MAX_RATING:
        return FieldProblem("rating", "OUT_OF_RANGE", "From 0.0 to 5.0.")
    if rating != rating.quantize(RATING_STEP):
        return FieldProblem("rating", "TOO_MANY_DECIMALS", "At most one decimal place.")
    return None


def dealer_problems(values: Mapping[str, Any]) -> list[FieldProblem]:
    """Every rule the given dealer fields break (only the fields present are checked)."""
    problems: list[FieldProblem | None] = []
    for field in EDITABLE:
        if field not in values:
            continue
        value = values[field]
        if value is None:
            problems.append(FieldProblem(field, "REQUIRED", "Cannot be empty."))
        elif field == "rating":
            problems.append(_rating_problem(value))
        elif not 0 < len(value) <= _TEXT_LIMITS[field]:
            limit = _TEXT_LIMITS[field]
            problems.append(FieldProblem(field, "TEXT_LENGTH", f"1 to {limit} characters."))
    return [problem for problem in problems if problem is not None]


async def update_dealer(
    engine: AsyncEngine,
    redis: Redis,
    dealer_id: int,
    changes: Mapping[str, Any],
    *,
    actor: AuditActor = SYSTEM,
    client: ClientInfo = NO_CLIENT,
) -> Any:
    """Change the given fields of a dealer in one transaction; returns the dealer's row.

    Every cached response showing the dealer is dropped after the commit."""
    unknown = set(changes).difference(EDITABLE)
    if unknown:
        raise ValueError(f"not editable: {sorted(unknown)}")
    clean = {k: v.strip() if isinstance(v, str) else v for k, v in changes.items()}
    problems = dealer_problems(clean)
    if problems:
        raise DealerRefusedError(problems)
    rating = clean.get("rating")
    if isinstance(rating, Decimal):
        clean["rating"] = rating.quantize(RATING_STEP)  # 4.50 is stored as 4.5
    statement: sa.Executable = (
        dealer_table.update()
        .where(dealer_table.c.id == dealer_id)
        .values(**clean)
        .returning(*dealer_table.c)
        if clean
        else sa.select(dealer_table).where(dealer_table.c.id == dealer_id)
    )
    async with engine.begin() as conn:
        row = (await conn.execute(statement)).mappings().first()
        if row is not None and clean:
            await record(
                conn, "dealer.updated", actor=actor, client=client, subject=("Dealer", dealer_id),
                details={"fields": sorted(clean)},
            )  # fmt: skip
    if row is None:
        raise DealerNotFoundError(f"no dealer {dealer_id}")
    if clean:
        await dealer_changed(redis, dealer_id)
    return row
