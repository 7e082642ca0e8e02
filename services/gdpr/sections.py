"""The sections of a personal-data export: one function per kind of data held.

A section is a name and an async function of (connection, user id, cipher) returning
JSON-ready data. `SECTIONS` is the export's table of contents; a feature that keeps
more personal data (notifications, say) appends its own section here.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from models.account import RefreshToken, User
from models.audit import AuditEntry
from models.order import Order, OrderEvent
from models.payment import Payment, Refund
from models.quote import Quote, QuoteLine
from services.crypto import FieldCipher

users: sa.Table = User.__table__  # type: ignore[attr-defined]
tokens: sa.Table = RefreshToken.__table__  # type: ignore[attr-defined]
orders: sa.Table = Order.__table__  # type: ignore[attr-defined]
events: sa.Table = OrderEvent.__table__  # type: ignore[attr-defined]
payments: sa.Table = Payment.__table__  # type: ignore[attr-defined]
refunds: sa.Table = Refund.__table__  # type: ignore[attr-defined]
quotes: sa.Table = Quote.__table__  # type: ignore[attr-defined]
quote_lines: sa.Table = QuoteLine.__table__  # type: ignore[attr-defined]
audit: sa.Table = AuditEntry.__table__  # type: ignore[attr-defined]

Collect = Callable[[AsyncConnection, int, FieldCipher], Awaitable[Any]]


@dataclass(frozen=True, slots=True)
class Section:
    name: str
    description: str
    collect: Collect


def plain(value: Any) -> Any:
    """A column value as JSON: times in ISO 8601 UTC, ids and decimals as text."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, uuid.UUID | Decimal):
        return str(value)
    return value


async def _rows(conn: AsyncConnection, statement: sa.Select[Any]) -> list[dict[str, Any]]:
    result = await conn.execute(statement)
    return [{k: plain(v) for k, v in row.items()} for row in result.mappings()]


async def _account(conn: AsyncConnection, user_id: int, cipher: FieldCipher) -> Any:
    c = users.c
    row = (await conn.execute(sa.select(users).where(c.id == user_id))).mappings().one()
    return {
        "id": row["id"], "email": row["email"], "role": row["role"],
        "dealerId": row["dealer_id"], "createdAt": plain(row["created_at"]),
        "fullName": cipher.decrypt(row["full_name_enc"]), "phone": cipher.decrypt(row["phone_enc"]),
        "address": cipher.decrypt(row["address_enc"]),
    }  # fmt: skip


async def _sessions(conn: AsyncConnection, user_id: int, cipher: FieldCipher) -> Any:
    c = tokens.c  # never the token hashes
    return await _rows(
        conn,
        sa.select(c.family_id, c.created_at, c.expires_at, c.used_at, c.revoked_at)
        .where(c.user_id == user_id)
        .order_by(c.id),
    )


def _order_ids(user_id: int) -> sa.Select[Any]:
    return sa.select(orders.c.id).where(orders.c.buyer_id == user_id)


async def _orders(conn: AsyncConnection, user_id: int, cipher: FieldCipher) -> Any:
    found = await _rows(
        conn, sa.select(orders).where(orders.c.buyer_id == user_id).order_by(orders.c.id)
    )
    history = await _rows(
        conn,
        sa.select(events)
        .where(events.c.order_id.in_(_order_ids(user_id)))
        .order_by(events.c.order_id, events.c.sequence),
    )
    for order in found:
        order["events"] = [e for e in history if e["order_id"] == order["id"]]
    return found


async def _quotes(conn: AsyncConnection, user_id: int, cipher: FieldCipher) -> Any:
    quote_ids = sa.select(orders.c.quote_id).where(orders.c.buyer_id == user_id)
    found = await _rows(conn, sa.select(quotes).where(quotes.c.id.in_(quote_ids)))
    lines = await _rows(
        conn,
        sa.select(quote_lines)
        .where(quote_lines.c.quote_id.in_(quote_ids))
        .order_by(quote_lines.c.quote_id, quote_lines.c.position),
    )
    for quote in found:
        quote["lines"] = [line for line in lines if line["quote_id"] == quote["id"]]
    return found


async def _payments(conn: AsyncConnection, user_id: int, cipher: FieldCipher) -> Any:
    # No card data is ever held: Stripe keeps it; these are the attempts and refunds.
    p = payments.c
    attempts = await _rows(
        conn,
        sa.select(p.id, p.order_id, p.attempt, p.stripe_payment_intent_id, p.status,
                  p.amount_minor, p.currency, p.failure_message, p.created_at, p.updated_at)
        .where(p.order_id.in_(_order_ids(user_id)))
        .order_by(p.id),
    )  # fmt: skip
    r = refunds.c
    given_back = await _rows(
        conn,
        sa.select(r.id, r.order_id, r.payment_id, r.status, r.amount_minor, r.currency,
                  r.reason, r.created_at, r.updated_at)
        .where(r.order_id.in_(_order_ids(user_id)))
        .order_by(r.id),
    )  # fmt: skip
    return {"payments": attempts, "refunds": given_back}


async def _audit(conn: AsyncConnection, user_id: int, cipher: FieldCipher) -> Any:
    a = audit.c
    return await _rows(
        conn,
        sa.select(a.id, a.at, a.actor_kind, a.actor_id, a.action, a.subject_type, a.subject_id,
                  a.client_address, a.user_agent, a.details)
        .where(sa.or_(a.subject_user_id == user_id,
                      sa.and_(a.actor_kind == "USER", a.actor_id == user_id)))
        .order_by(a.id),
    )  # fmt: skip


SECTIONS: list[Section] = [
    Section("account", "The account: e-mail, role, name, phone, address.", _account),
    Section("sessions", "Sign-ins (refresh-token families), without the tokens.", _sessions),
    Section("orders", "Orders with their status history.", _orders),
    Section("quotes", "The quotes the orders were made with, line by line.", _quotes),
    Section("payments", "Payment attempts and refunds (no card data is held).", _payments),
    Section("auditEntries", "Audit log entries by or about the account.", _audit),
]
