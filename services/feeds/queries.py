"""Reading feed runs and their rejected rows: by id, newest first with keyset cursors.

Runs are listed newest first on (created_at, id); a run's rejected rows in line order,
on `line`. Cursors are opaque base64 JSON of those keys.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from models.feed import FeedRejection, FeedRunStatus
from services.errors import InvalidArgumentError
from services.feeds.runs import feed_run
from services.pagination import Page, decode_cursor, encode_cursor, page_of

feed_rejection: sa.Table = FeedRejection.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class RunFilter:
    source: str | None = None
    statuses: tuple[FeedRunStatus, ...] = ()


RUN_CURSOR_REFUSED = "not a cursor of this list"


def encode_run_cursor(row: Any) -> str:
    """The cursor of a run in the newest-first listing (padded, as it always was)."""
    return encode_cursor(row["created_at"].isoformat(), row["id"], padded=True)


def decode_run_cursor(cursor: str, *, argument: str) -> tuple[datetime, int]:
    """(created_at, id) of a run cursor; `InvalidArgumentError` naming `argument`."""
    message = RUN_CURSOR_REFUSED
    created, run_id = decode_cursor(cursor, argument=argument, length=2, message=message)
    try:
        return datetime.fromisoformat(created), int(run_id)
    except (TypeError, ValueError):
        raise InvalidArgumentError(argument, message) from None


def _conditions(flt: RunFilter) -> list[sa.ColumnElement[bool]]:
    c = feed_run.c
    conditions = []
    if flt.source is not None:
        conditions.append(c.source == flt.source)
    if flt.statuses:
        conditions.append(c.status.in_([status.value for status in flt.statuses]))
    return conditions


async def fetch_runs_by_ids(conn: AsyncConnection, run_ids: Collection[int]) -> dict[int, Any]:
    """Run rows by id (missing ones absent)."""
    if not run_ids:
        return {}
    rows = await conn.execute(sa.select(feed_run).where(feed_run.c.id.in_(sorted(run_ids))))
    return {row["id"]: row for row in rows.mappings()}


async def fetch_run_page(
    conn: AsyncConnection,
    flt: RunFilter,
    *,
    limit: int,
    after: tuple[datetime, int] | None = None,
    before: tuple[datetime, int] | None = None,
    backwards: bool = False,
) -> Page[Any]:
    """A page of runs, newest first: `limit` after `after` (or, backwards, before `before`)."""
    c = feed_run.c
    key = sa.tuple_(c.created_at, c.id)
    statement = sa.select(feed_run).where(*_conditions(flt))
    if after is not None:
        statement = statement.where(key < sa.tuple_(*after))
    if before is not None:
        statement = statement.where(key > sa.tuple_(*before))
    order = (c.created_at.asc(), c.id.asc()) if backwards else (c.created_at.desc(), c.id.desc())
    rows = list((await conn.execute(statement.order_by(*order).limit(limit + 1))).mappings())
    return page_of(rows, limit, backwards=backwards, after=after, before=before)


async def count_runs(conn: AsyncConnection, flt: RunFilter) -> int:
    """How many runs match."""
    statement = sa.select(sa.func.count()).select_from(feed_run).where(*_conditions(flt))
    return int(await conn.scalar(statement) or 0)


async def fetch_rejections(
    conn: AsyncConnection, run_ids: Collection[int], *, after_line: int | None, limit: int
) -> dict[int, list[Any]]:
    """Each run's rejected rows after `after_line`, in line order, `limit + 1` at most
    (one more than a page, to tell whether there is a next one); one statement."""
    r = feed_rejection.c
    numbered = (
        sa.select(
            feed_rejection,
            sa.func.row_number().over(partition_by=r.run_id, order_by=r.line).label("position"),
        )
        .where(r.run_id.in_(sorted(run_ids)), r.line > (after_line or 0))
        .subquery()
    )
    statement = (
        sa.select(numbered.c.run_id, numbered.c.line, numbered.c.external_id, numbered.c.reasons)
        .where(numbered.c.position <= limit + 1)
        .order_by(numbered.c.run_id, numbered.c.line)
    )
    found: dict[int, list[Any]] = defaultdict(list)
    for row in (await conn.execute(statement)).mappings():
        found[row["run_id"]].append(row)
    return found


async def count_rejections(conn: AsyncConnection, run_ids: Collection[int]) -> dict[int, int]:
    """How many rejected rows each run stored."""
    r = feed_rejection.c
    statement = (
        sa.select(r.run_id, sa.func.count()).where(r.run_id.in_(sorted(run_ids))).group_by(r.run_id)
    )
    counts = dict.fromkeys(run_ids, 0)
    for run_id, count in (await conn.execute(statement)).all():
        counts[run_id] = int(count)
    return counts
