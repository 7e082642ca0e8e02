"""Transitions on real PostgreSQL: refusals change nothing, concurrency leaves no gap."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import sqlalchemy as sa
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from models.order import OrderStatus
from services.orders.errors import OrderError, TransitionNotAllowedError
from services.orders.lifecycle import TRANSITIONS, Actor, ActorKind, OrderEventKind
from services.orders.ordering import create_order, transition_order
from tests.accounts_data import create_vehicle

S = OrderStatus
E = OrderEventKind
BUYER = Actor(ActorKind.BUYER, None)
PAYMENTS = Actor(ActorKind.PAYMENTS)
ADMIN = Actor(ActorKind.ADMIN, None)

# How to reach each status from a fresh QUOTED order: the events, each with its actor.
PATHS: dict[OrderStatus, list[tuple[OrderEventKind, Actor]]] = {
    S.QUOTED: [],
    S.RESERVED: [(E.RESERVE, BUYER)],
    S.PAYMENT_PENDING: [(E.RESERVE, BUYER), (E.CHECKOUT, BUYER)],
    S.PAYMENT_FAILED: [(E.RESERVE, BUYER), (E.CHECKOUT, BUYER), (E.PAYMENT_FAILED, PAYMENTS)],
    S.PAID: [(E.RESERVE, BUYER), (E.CHECKOUT, BUYER), (E.PAYMENT_SUCCEEDED, PAYMENTS)],
    S.PREPARING: [(E.RESERVE, BUYER), (E.CHECKOUT, BUYER), (E.PAYMENT_SUCCEEDED, PAYMENTS), (E.PREPARE, ADMIN)],
    S.IN_TRANSIT: [(E.RESERVE, BUYER), (E.CHECKOUT, BUYER), (E.PAYMENT_SUCCEEDED, PAYMENTS), (E.PREPARE, ADMIN),
                   (E.SHIP, ADMIN)],
    S.DELIVERED: [(E.RESERVE, BUYER), (E.CHECKOUT, BUYER), (E.PAYMENT_SUCCEEDED, PAYMENTS), (E.PREPARE, ADMIN),
                  (E.SHIP, ADMIN), (E.DELIVER, ADMIN)],
    S.COMPLETED: [(E.RESERVE, BUYER), (E.CHECKOUT, BUYER), (E.PAYMENT_SUCCEEDED, PAYMENTS), (E.PREPARE, ADMIN),
                  (E.SHIP, ADMIN), (E.DELIVER, ADMIN), (E.COMPLETE, ADMIN)],
    S.CANCELLED: [(E.CANCEL, BUYER)],
    S.REFUNDED: [(E.RESERVE, BUYER), (E.CHECKOUT, BUYER), (E.PAYMENT_SUCCEEDED, PAYMENTS),
                 (E.REFUND_SETTLED, PAYMENTS)],
}  # fmt: skip

# An actor the table allows for each event somewhere, so a refusal is the state's doing.
SOME_ACTOR = {event: Actor(sorted(actors)[0]) for (_, event), (_, actors) in TRANSITIONS.items()}


async def _order_at(
    engine: AsyncEngine, redis: Redis, dealer_id: int, buyer_id: int, status: OrderStatus
) -> int:
    vehicle = await create_vehicle(engine, redis, dealer_id)
    customer = Actor(ActorKind.BUYER, buyer_id)
    outcome = await create_order(engine, redis, customer=customer, buyer_id=buyer_id, partner_id=None,
                                 vehicle_id=vehicle["id"], destination_country="DE", reserve=False)  # fmt: skip
    for event, actor in PATHS.get(status, []):
        await transition_order(engine, redis, outcome.order_id, event, actor)
    if status is S.DRAFT:  # only ever transient inside createOrder: set it directly
        async with engine.begin() as conn:
            await conn.execute(
                sa.text("UPDATE orders SET status = 'DRAFT' WHERE id = :id"),
                {"id": outcome.order_id},
            )
    return outcome.order_id


async def _snapshot(engine: AsyncEngine, order_id: int) -> tuple[Any, ...]:
    async with engine.connect() as conn:
        row = (await conn.execute(sa.text(
            "SELECT o.status, o.version, v.status AS vehicle, (SELECT count(*) FROM order_event e"
            " WHERE e.order_id = o.id) AS events FROM orders o JOIN vehicle v ON v.id = o.vehicle_id"
            " WHERE o.id = :id"), {"id": order_id})).one()  # fmt: skip
    return tuple(row)


@pytest.fixture(scope="module")
async def buyer_id(engine: AsyncEngine) -> int:
    async with engine.begin() as conn:
        return int(await conn.scalar(sa.text(
            "INSERT INTO app_user (email, password_hash, role) VALUES"
            " ('lifecycle-buyer@example.org', 'x', 'BUYER') RETURNING id")))  # fmt: skip


@pytest.fixture(scope="module")
async def dealer_id(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int(await conn.scalar(sa.text("SELECT min(id) FROM dealer")))


@pytest.mark.parametrize("status", list(OrderStatus))
async def test_every_transition_outside_the_table_is_refused_and_changes_nothing(
    engine: AsyncEngine, redis: Redis, dealer_id: int, buyer_id: int, status: OrderStatus
) -> None:
    order_id = await _order_at(engine, redis, dealer_id, buyer_id, status)
    before = await _snapshot(engine, order_id)
    assert before[0] == status.value
    refused = [
        event
        for event in OrderEventKind
        if (status, event) not in TRANSITIONS and event is not E.CREATE
    ]
    assert refused, "every state refuses something"
    for event in refused:
        with pytest.raises(TransitionNotAllowedError):
            await transition_order(engine, redis, order_id, event, SOME_ACTOR[event])
        assert await _snapshot(engine, order_id) == before, event


async def test_concurrent_transitions_of_one_order_have_one_winner_and_no_gap(
    engine: AsyncEngine, redis: Redis, dealer_id: int, buyer_id: int
) -> None:
    order_id = await _order_at(engine, redis, dealer_id, buyer_id, S.RESERVED)
    attempts = [(E.CANCEL, BUYER)] * 10 + [(E.CHECKOUT, BUYER)] * 10

    async def attempt(event: OrderEventKind, actor: Actor) -> str:
        try:
            await transition_order(engine, redis, order_id, event, actor)
        except OrderError as error:
            return error.code
        return "OK"

    outcomes = await asyncio.gather(*(attempt(event, actor) for event, actor in attempts))
    assert outcomes.count("OK") in (1, 2)  # CHECKOUT then CANCEL is a legal pair
    assert set(outcomes) <= {"OK", "TRANSITION_NOT_ALLOWED"}
    async with engine.connect() as conn:
        sequences = (
            await conn.execute(
                sa.text("SELECT sequence FROM order_event WHERE order_id = :id ORDER BY sequence"),
                {"id": order_id},
            )
        ).scalars()
        version = await conn.scalar(
            sa.text("SELECT version FROM orders WHERE id = :id"), {"id": order_id}
        )
    sequences = list(sequences)
    assert sequences == list(range(1, len(sequences) + 1))
    assert version == len(sequences)
    assert len(sequences) == 3 + outcomes.count("OK")
