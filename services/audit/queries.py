"""Reading the audit log, newest first, by actor, action, subject and time range."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from services.audit.log import audit_table
from services.errors import InvalidArgumentError
from services.pagination import INVALID_CURSOR, Page, decode_cursor, encode_cursor, page_of

CURSOR_KIND = "AUDIT"


@dataclass(frozen=True, slots=True)
class AuditFilter:
    actor_kind: str | None = None
    actor_id: int | None = None
    action: str | None = None
    subject_type: str | None = None
    subject_id: str | None = None
    subject_user_id: int | None = None
    since: datetime | None = None
    until: datetime | None = None


def encode_entry_cursor(entry_id: int) -> str:
    return encode_cursor(CURSOR_KIND, entry_id)


def decode_entry_cursor(cursor: str, *, argument: str) -> int:
    """The entry id of a cursor of this list; `InvalidArgumentError` otherwise."""
    kind, entry_id = decode_cursor(cursor, argument=argument, length=2)
    if kind != CURSOR_KIND or not isinstance(entry_id, int) or isinstance(entry_id, bool):
        raise InvalidArgumentError(argument, INVALID_CURSOR)
    return entry_id


def _where(flt: AuditFilter) -> list[sa.ColumnElement[bool]]:
    c = audit_table.c
    clauses: list[sa.ColumnElement[bool]] = []
    for column, value in (
        (c.actor_kind, flt.actor_kind), (c.actor_id, flt.actor_id), (c.action, flt.action),
        (c.subject_type, flt.subject_type), (c.subject_id, flt.subject_id),
        (c.subject_user_id, flt.subject_user_id),
    ):  # fmt: skip
        if value is not None:
            clauses.append(column == value)
    if flt.since is not None:
        clauses.append(c.at >= flt.since)
    if flt.until is not None:
        clauses.append(c.at < flt.until)
    return clauses


async def fetch_page(
    conn: AsyncConnection,
    flt: AuditFilter,
    *,
    limit: int,
    backwards: bool,
    after: int | None,
    before: int | None,
) -> Page[Any]:
    """One page, newest first; `after`/`before` are entry ids from cursors."""
    c = audit_table.c
    clauses = _where(flt)
    if after is not None:
        clauses.append(c.id < after)
    if before is not None:
        clauses.append(c.id > before)
    order = c.id.asc() if backwards else c.id.desc()
    rows = list(
        (
            await conn.execute(
                sa.select(audit_table).where(*clauses).order_by(order).limit(limit + 1)
            )
        ).mappings()
    )
    return page_of(rows, limit, backwards=backwards, after=after, before=before)


async def count(conn: AsyncConnection, flt: AuditFilter) -> int:
    total = await conn.scalar(
        sa.select(sa.func.count()).select_from(audit_table).where(*_where(flt))
    )
    return int(total or 0)
