"""Order maintenance jobs on real PostgreSQL and Redis, through a real arq worker."""

from __future__ import annotations

import asyncio

import pytest
import sqlalchemy as sa
from arq import create_pool
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from core.redis_keys import JOB_QUEUE
from core.settings import Settings
from jobs.worker import create_worker, redis_settings
from models.account import UserRole
from services.orders.lifecycle import Actor, ActorKind, OrderEventKind
from services.orders.maintenance import complete_delivered, expire_reservations
from services.orders.ordering import create_order, transition_order
from tests.accounts_data import create_user, create_vehicle


@pytest.fixture(scope="module")
async def buyer_id(engine: AsyncEngine, settings: Settings) -> int:
    return (await create_user(engine, settings, UserRole.BUYER)).id


async def _reserved_order(engine: AsyncEngine, redis: Redis, buyer_id: int) -> tuple[int, int]:
    async with engine.connect() as conn:
        dealer_id = int(await conn.scalar(sa.text("SELECT min(id) FROM dealer")))
    vehicle = await create_vehicle(engine, redis, dealer_id)
    outcome = await create_order(engine, redis, customer=Actor(ActorKind.BUYER, buyer_id), buyer_id=buyer_id,
                                 partner_id=None, vehicle_id=vehicle["id"], destination_country="AT",
                                 reserve=True)  # fmt: skip
    return outcome.order_id, vehicle["id"]


async def _state(engine: AsyncEngine, order_id: int) -> tuple[str, str, int, str]:
    async with engine.connect() as conn:
        row = (await conn.execute(sa.text(
            "SELECT o.status, v.status, (SELECT count(*) FROM order_event e WHERE e.order_id = o.id),"
            " (SELECT actor || ':' || coalesce(reason, '') FROM order_event e WHERE e.order_id = o.id"
            "  ORDER BY sequence DESC LIMIT 1) FROM orders o JOIN vehicle v ON v.id = o.vehicle_id"
            " WHERE o.id = :id"), {"id": order_id})).one()  # fmt: skip
    return tuple(row)  # type: ignore[return-value]


async def _lapse(engine: AsyncEngine, order_id: int) -> None:
    async with engine.begin() as conn:
        await conn.execute(sa.text("UPDATE orders SET reserved_until = now() - interval '1 second' WHERE id = :id"),
                           {"id": order_id})  # fmt: skip


async def test_an_expired_reservation_is_released_once_even_by_two_workers(
    engine: AsyncEngine, redis: Redis, buyer_id: int
) -> None:
    order_id, _ = await _reserved_order(engine, redis, buyer_id)
    fresh_id, _ = await _reserved_order(engine, redis, buyer_id)
    await _lapse(engine, order_id)
    await asyncio.gather(expire_reservations(engine, redis), expire_reservations(engine, redis))
    assert await _state(engine, order_id) == (
        "CANCELLED",
        "AVAILABLE",
        4,
        "system:reservation expired",
    )
    await expire_reservations(engine, redis)  # running again changes nothing
    assert await _state(engine, order_id) == (
        "CANCELLED",
        "AVAILABLE",
        4,
        "system:reservation expired",
    )
    assert (await _state(engine, fresh_id))[:2] == ("RESERVED", "RESERVED")


async def test_orders_delivered_two_weeks_ago_complete(
    engine: AsyncEngine, redis: Redis, buyer_id: int
) -> None:
    order_id, _ = await _reserved_order(engine, redis, buyer_id)
    admin, payments = Actor(ActorKind.ADMIN, None), Actor(ActorKind.PAYMENTS)
    for event, actor in ((OrderEventKind.CHECKOUT, Actor(ActorKind.BUYER, buyer_id)), (OrderEventKind.PAYMENT_SUCCEEDED, payments),
                         (OrderEventKind.PREPARE, admin), (OrderEventKind.SHIP, admin),
                         (OrderEventKind.DELIVER, admin)):  # fmt: skip
        await transition_order(engine, redis, order_id, event, actor)
    await complete_delivered(engine, redis)
    assert (await _state(engine, order_id))[0] == "DELIVERED"  # not yet two weeks
    async with engine.begin() as conn:
        await conn.execute(sa.text("UPDATE orders SET delivered_at = now() - interval '15 days' WHERE id = :id"),
                           {"id": order_id})  # fmt: skip
    await complete_delivered(engine, redis)
    assert await _state(engine, order_id) == (
        "COMPLETED",
        "SOLD",
        9,
        "system:completed 14 days after delivery",
    )


async def test_the_arq_worker_runs_the_expiry_job(
    engine: AsyncEngine, redis: Redis, settings: Settings, buyer_id: int
) -> None:
    order_id, _ = await _reserved_order(engine, redis, buyer_id)
    await _lapse(engine, order_id)
    pool = await create_pool(redis_settings(settings), default_queue_name=JOB_QUEUE)
    try:
        job = await pool.enqueue_job("expire_reservations")
        assert job is not None
        worker = create_worker(settings, handle_signals=False, burst=True)
        worker.cron_jobs = []  # only the queued job, not the schedules
        await worker.main()
        await worker.close()
        assert await job.result(timeout=5) >= 1
    finally:
        await pool.aclose()
    assert (await _state(engine, order_id))[0] == "CANCELLED"
