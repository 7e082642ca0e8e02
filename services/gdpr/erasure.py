"""Erasing an account (GDPR Art. 17) while keeping what the law requires.

Orders, payments, refunds and quotes are accounting records (kept for the retention the
commercial and tax codes require, README "Data inventory"): they stay, totals intact,
but the person is removed from them. The account row stays as a pseudonym (its id is
what the orders and the audit log name), with the e-mail replaced by one derived from
the id, the password by a hash nobody knows, and the name, phone and address dropped.
Every sign-in (refresh-token family) and pending export is deleted, the sessions' cache
entries dropped, the buyer's own free text on order events (cancel reasons) cleared.

Refused while an order is in flight (not COMPLETED, CANCELLED or REFUNDED): erasing the
person would strand a sale half-way; the order is finished or cancelled first.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from auth.passwords import hash_password
from models.account import RefreshToken, User
from models.audit import DataExport
from models.order import IdempotencyRecord, Order, OrderEvent, OrderStatus
from services.accounts.session_check import forget_session
from services.audit.log import NO_CLIENT, AuditActor, ClientInfo, record, record_now
from services.gdpr.errors import (
    AccountNotFoundError,
    AlreadyErasedError,
    GdprRefusalError,
    OrderInFlightError,
)

users: sa.Table = User.__table__  # type: ignore[attr-defined]
tokens: sa.Table = RefreshToken.__table__  # type: ignore[attr-defined]
exports: sa.Table = DataExport.__table__  # type: ignore[attr-defined]
orders: sa.Table = Order.__table__  # type: ignore[attr-defined]
events: sa.Table = OrderEvent.__table__  # type: ignore[attr-defined]
idempotency: sa.Table = IdempotencyRecord.__table__  # type: ignore[attr-defined]

FINISHED = (OrderStatus.COMPLETED, OrderStatus.CANCELLED, OrderStatus.REFUNDED)


def pseudonym_email(user_id: int) -> str:
    """The e-mail an erased account keeps: unique, undeliverable (RFC 2606), no person."""
    return f"erased-{user_id}@erased.invalid"


@dataclass(frozen=True, slots=True)
class ErasureResult:
    user_id: int
    sessions_revoked: int
    orders_kept: int


async def erase_account(
    engine: AsyncEngine,
    redis: Redis | None,
    user_id: int,
    *,
    actor: AuditActor,
    client: ClientInfo = NO_CLIENT,
) -> ErasureResult:
    """Erase the account's personal data, or raise why not (nothing changes then, but
    the refused request is audited)."""
    try:
        return await _erase(engine, redis, user_id, actor=actor, client=client)
    except GdprRefusalError as error:
        if not isinstance(error, AccountNotFoundError):
            await record_now(
                engine, "gdpr.erasure_refused", actor=actor, client=client,
                subject=("User", user_id), subject_user_id=user_id,
                details={"code": error.code.value},
            )  # fmt: skip
        raise


async def _erase(
    engine: AsyncEngine, redis: Redis | None, user_id: int, *, actor: AuditActor,
    client: ClientInfo,
) -> ErasureResult:  # fmt: skip
    unusable = await hash_password(secrets.token_urlsafe(32))
    async with engine.begin() as conn:
        found = (
            await conn.execute(
                sa.select(users.c.erased_at).where(users.c.id == user_id).with_for_update()
            )
        ).first()
        if found is None:
            raise AccountNotFoundError("no such account")
        if found.erased_at is not None:
            raise AlreadyErasedError("the account is already erased")
        statuses = [s.value for s in FINISHED]
        in_flight = await conn.scalar(
            sa.select(sa.func.count())
            .select_from(orders)
            .where(orders.c.buyer_id == user_id, orders.c.status.not_in(statuses))
        )
        if in_flight:
            raise OrderInFlightError(
                f"{in_flight} order(s) still in progress: finish or cancel them first"
            )
        kept = await conn.scalar(
            sa.select(sa.func.count()).select_from(orders).where(orders.c.buyer_id == user_id)
        )
        families = list(
            (
                await conn.execute(
                    sa.select(tokens.c.family_id).where(tokens.c.user_id == user_id).distinct()
                )
            ).scalars()
        )
        await conn.execute(tokens.delete().where(tokens.c.user_id == user_id))
        await conn.execute(exports.delete().where(exports.c.user_id == user_id))
        await conn.execute(idempotency.delete().where(idempotency.c.identity == f"user:{user_id}"))
        await conn.execute(
            events.update()
            .where(
                events.c.order_id.in_(sa.select(orders.c.id).where(orders.c.buyer_id == user_id)),
                events.c.actor == f"buyer:{user_id}",
                events.c.reason.is_not(None),
            )
            .values(reason=None)
        )
        await conn.execute(
            users.update()
            .where(users.c.id == user_id)
            .values(
                email=pseudonym_email(user_id), password_hash=unusable, full_name_enc=None,
                phone_enc=None, address_enc=None, erased_at=datetime.now(UTC),
            )
        )  # fmt: skip
        await record(
            conn, "gdpr.account_erased", actor=actor, client=client,
            subject=("User", user_id), subject_user_id=user_id,
            details={"sessions_revoked": len(families), "orders_kept": kept},
        )  # fmt: skip
    for family in families:
        await forget_session(redis, family)
    return ErasureResult(user_id, len(families), int(kept or 0))
