"""Reading the audit log, newest first, by actor, action, subject and time range."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from services.audit.log import audit_table
from services.errors import InvalidArgumentError

CURSOR_PREFIX = "audit:"


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


@dataclass(frozen=True, slots=True)
class AuditPage:
    rows: list[Any]
    has_next_page: bool
    has_previous_page: bool


def encode_cursor(entry_id: int) -> str:
    return base64.urlsafe_b64encode(f"{CURSOR_PREFIX}{entry_id}".encode()).decode()


def decode_cursor(cursor: str, *, argument: str) -> int:
    try:
        text = base64.urlsafe_b64decode(cursor.encode()).decode()
        if text.startswith(CURSOR_PREFIX):
            return int(text.removeprefix(CURSOR_PREFIX))
    except (ValueError, UnicodeDecodeError):
        pass
    raise InvalidArgumentError(argument, "not a cursor of this connection")


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
) -> AuditPage:
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
    more = len(rows) > limit
    rows = rows[:limit]
    if backwards:
        rows.reverse()
        return AuditPage(rows, has_next_page=before is not None, has_previous_page=more)
    return AuditPage(rows, has_next_page=more, has_previous_page=after is not None)


async def count(conn: AsyncConnection, flt: AuditFilter) -> int:
    total = await conn.scalar(
        sa.select(sa.func.count()).select_from(audit_table).where(*_where(flt))
    )
    return int(total or 0)
