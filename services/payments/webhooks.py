"""Stripe's webhook events: stored once by their id, applied by a job.

`receive_event` runs in the web process after the signature was verified (the gateway's
`parse_webhook`, on the raw body): it inserts the event (`ON CONFLICT DO NOTHING`), so
a redelivery writes nothing, and says whether a job must still apply it. The HTTP
endpoint (core/stripe_webhook.py) answers 200 for every verified delivery, duplicates
included, because the event is safely stored before the answer.

`apply_stored_event` runs in the `apply_stripe_event` job: it turns the event into a
fact (apply.py) and marks the row applied with what happened. Events of other types
are acknowledged and marked "ignored". A stored event no job applied (Redis was down
when it arrived, or the job gave up) is applied by reconciliation.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from redis.asyncio import Redis
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from models.base import utcnow
from models.payment import PaymentStatus
from services.payments.apply import (
    Applied,
    IntentFact,
    RefundFact,
    apply_intent_fact,
    apply_refund_fact,
)
from services.payments.gateway import WebhookEvent
from services.payments.records import stripe_events
from services.payments.statuses import (
    CHARGE_REFUNDED,
    INTENT_EVENTS,
    REFUND_EVENTS,
    refund_status,
)


@dataclass(frozen=True, slots=True)
class Received:
    """A verified delivery: whether it was new, and whether a job must still apply it."""

    event_id: str
    new: bool
    pending: bool


async def receive_event(engine: AsyncEngine, event: WebhookEvent) -> Received:
    """Store a verified event by its id; a redelivery is recognised and stores nothing."""
    async with engine.begin() as conn:
        inserted = await conn.scalar(
            insert(stripe_events)
            .values(id=event.id, type=event.type, payload=event.payload, received_at=utcnow())
            .on_conflict_do_nothing(index_elements=[stripe_events.c.id])
            .returning(stripe_events.c.id)
        )
        if inserted is not None:
            return Received(event.id, new=True, pending=True)
        applied_at = await conn.scalar(
            sa.select(stripe_events.c.applied_at).where(stripe_events.c.id == event.id)
        )
    return Received(event.id, new=False, pending=applied_at is None)


def fact_of(event_type: str, created: int, obj: dict[str, Any]) -> IntentFact | RefundFact | None:
    """The fact an event states, or None for a type that settles nothing."""
    at = datetime.fromtimestamp(created, UTC)
    metadata = {str(k): str(v) for k, v in (obj.get("metadata") or {}).items()}
    if event_type in INTENT_EVENTS:
        failure = (obj.get("last_payment_error") or {}).get("message")
        return IntentFact(str(obj["id"]), INTENT_EVENTS[event_type], at, metadata, failure)
    if event_type == CHARGE_REFUNDED and obj.get("refunded") is True and obj.get("payment_intent"):
        return IntentFact(str(obj["payment_intent"]), PaymentStatus.REFUNDED, at)
    if event_type in REFUND_EVENTS:
        return RefundFact(str(obj["id"]), refund_status(str(obj["status"])), at, metadata)
    return None


async def apply_fact(engine: AsyncEngine, redis: Redis, fact: IntentFact | RefundFact) -> Applied:
    """Apply a fact of either kind."""
    if isinstance(fact, IntentFact):
        return await apply_intent_fact(engine, redis, fact)
    return await apply_refund_fact(engine, redis, fact)


async def apply_stored_event(engine: AsyncEngine, redis: Redis, event_id: str) -> Applied:
    """Apply a stored event once; applying it again finds it applied and does nothing."""
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                sa.select(
                    stripe_events.c.type, stripe_events.c.payload, stripe_events.c.applied_at
                ).where(stripe_events.c.id == event_id)
            )
        ).first()
    if row is None:
        return Applied("no such event")
    if row.applied_at is not None:
        return Applied("already applied")
    payload: dict[str, Any] = row.payload
    try:
        fact = fact_of(row.type, int(payload.get("created") or 0), payload["data"]["object"])
    except (KeyError, TypeError, ValueError):
        fact, applied = None, Applied(f"malformed {row.type}")
    else:
        applied = Applied(f"ignored {row.type}")
    if fact is not None:
        applied = await apply_fact(engine, redis, fact)
    async with engine.begin() as conn:
        await conn.execute(
            stripe_events.update()
            .where(stripe_events.c.id == event_id, stripe_events.c.applied_at.is_(None))
            .values(applied_at=utcnow(), outcome=applied.outcome[:200])
        )
    return applied
