"""Holds end: a reservation, a failed payment and a pending payment past the order's
deadline all release the vehicle, a pending payment only once Stripe has cancelled it
(a payment that succeeded or still processes decides instead); and the invariant check
finds every vehicle RESERVED or SOLD without its order."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from core.db import Database
from core.settings import Settings
from core.stripe_emulator import StripeEmulator
from jobs.context import JobResources
from jobs.orders import expire_reservations_job
from jobs.payments import close_payment_gateway, open_payment_gateway
from models.account import UserRole
from services.orders.lifecycle import Actor, ActorKind
from services.payments.apply import IntentFact, apply_intent_fact
from services.payments.checkout import checkout
from services.payments.stripe_gateway import StripeGateway
from services.vehicles.holds import hold_violations
from tests.accounts_data import create_user, create_vehicle
from tests.stripe_fixtures import ReadyOrder, intents_of, order_state, reserved_order


@pytest.fixture(scope="module")
async def buyer_id(engine: AsyncEngine, settings: Settings) -> int:
    return (await create_user(engine, settings, UserRole.BUYER)).id


@pytest.fixture
async def order(engine: AsyncEngine, redis: Redis, buyer_id: int) -> ReadyOrder:
    return await reserved_order(engine, redis, buyer_id)


@pytest.fixture
async def job_ctx(engine: AsyncEngine, redis: Redis, payment_settings: Settings) -> Any:
    """What the worker gives the expiry job: its resources and the payment gateway."""
    ctx: dict[str, Any] = {
        "resources": JobResources(settings=payment_settings, database=Database(engine), redis=redis)
    }
    open_payment_gateway(ctx, payment_settings)
    yield ctx
    await close_payment_gateway(ctx)


async def _lapse(engine: AsyncEngine, order_id: int) -> None:
    """The order's hold ended a minute ago."""
    async with engine.begin() as conn:
        await conn.execute(
            sa.text(
                "UPDATE orders SET reserved_until = now() - interval '1 minute' WHERE id = :id"
            ),
            {"id": order_id},
        )


async def _violations(engine: AsyncEngine, vehicle_id: int) -> list[str]:
    async with engine.connect() as conn:
        return [v.problem for v in await hold_violations(conn, vehicle_ids=[vehicle_id])]


def _buyer(order: ReadyOrder) -> Actor:
    return Actor(ActorKind.BUYER, order.buyer_id)


async def test_a_pending_payment_past_the_deadline_is_cancelled_and_the_vehicle_released(
    engine: AsyncEngine, redis: Redis, gateway: StripeGateway, no_webhooks: StripeEmulator,
    order: ReadyOrder, job_ctx: Any,
) -> None:  # fmt: skip
    await checkout(engine, redis, gateway, order.id, _buyer(order))
    assert await expire_reservations_job(job_ctx) == 0  # not yet: the hold still runs
    await _lapse(engine, order.id)
    assert await expire_reservations_job(job_ctx) == 1
    [intent] = intents_of(no_webhooks, order.id)
    assert intent["status"] == "canceled"
    state = await order_state(engine, order.id)
    assert (state["status"], state["vehicle"]) == ("CANCELLED", "AVAILABLE")
    assert state["events"][-2:] == [("PAYMENT_FAILED", "payments"), ("CANCELLED", "system")]
    assert state["payments"] == [(1, "CANCELED", intent["id"])]
    assert await _violations(engine, order.vehicle_id) == []
    assert await expire_reservations_job(job_ctx) == 0  # a second run changes nothing


async def test_a_payment_that_succeeded_unheard_is_honoured_not_cancelled(
    engine: AsyncEngine, redis: Redis, gateway: StripeGateway, no_webhooks: StripeEmulator,
    order: ReadyOrder, job_ctx: Any,
) -> None:  # fmt: skip
    paying = await checkout(engine, redis, gateway, order.id, _buyer(order))
    [intent] = intents_of(no_webhooks, order.id)
    await gateway.confirm_intent(  # its webhook is lost: only Stripe knows it was paid
        intent["id"], payment_method="pm_card_visa", idempotency_key=f"c-{paying.payment_id}"
    )
    await _lapse(engine, order.id)
    assert await expire_reservations_job(job_ctx) == 0
    state = await order_state(engine, order.id)
    assert (state["status"], state["vehicle"]) == ("PAID", "SOLD")
    assert intents_of(no_webhooks, order.id)[0]["status"] == "succeeded"
    assert await _violations(engine, order.vehicle_id) == []


async def test_a_processing_payment_keeps_its_hold_until_stripe_decides(
    engine: AsyncEngine, redis: Redis, gateway: StripeGateway, no_webhooks: StripeEmulator,
    order: ReadyOrder, job_ctx: Any,
) -> None:  # fmt: skip
    paying = await checkout(engine, redis, gateway, order.id, _buyer(order))
    [intent] = intents_of(no_webhooks, order.id)
    await gateway.confirm_intent(
        intent["id"], payment_method="pm_sepa_debit", idempotency_key=f"c-{paying.payment_id}"
    )
    await _lapse(engine, order.id)
    assert await expire_reservations_job(job_ctx) == 0
    state = await order_state(engine, order.id)
    assert (state["status"], state["vehicle"]) == ("PAYMENT_PENDING", "RESERVED")
    assert intents_of(no_webhooks, order.id)[0]["status"] == "processing"


async def test_a_failed_payment_past_the_deadline_releases_the_vehicle(
    engine: AsyncEngine, redis: Redis, gateway: StripeGateway, no_webhooks: StripeEmulator,
    order: ReadyOrder, job_ctx: Any,
) -> None:  # fmt: skip
    paying = await checkout(engine, redis, gateway, order.id, _buyer(order))
    [intent] = intents_of(no_webhooks, order.id)
    with pytest.raises(Exception):  # noqa: B017, PT011 - the decline, whatever its class
        await gateway.confirm_intent(
            intent["id"], payment_method="pm_card_chargeDeclined",
            idempotency_key=f"c-{paying.payment_id}",
        )  # fmt: skip
    await apply_intent_fact(
        engine, redis, IntentFact.from_intent(await gateway.retrieve_intent(intent["id"]))
    )
    assert (await order_state(engine, order.id))["status"] == "PAYMENT_FAILED"
    await _lapse(engine, order.id)
    assert await expire_reservations_job(job_ctx) == 1
    state = await order_state(engine, order.id)
    assert (state["status"], state["vehicle"]) == ("CANCELLED", "AVAILABLE")
    assert state["events"][-1] == ("CANCELLED", "system")


async def test_the_invariant_check_finds_vehicles_held_or_sold_without_their_order(
    engine: AsyncEngine, redis: Redis, order: ReadyOrder
) -> None:
    async with engine.connect() as conn:
        dealer_id = int(await conn.scalar(sa.text("SELECT min(id) FROM dealer")))
    orphans = {
        status: (await create_vehicle(engine, redis, dealer_id))["id"]
        for status in ("RESERVED", "SOLD")
    }
    async with engine.begin() as conn:
        for status, vehicle_id in orphans.items():
            await conn.execute(sa.text("UPDATE vehicle SET status = :s WHERE id = :id"),
                               {"s": status, "id": vehicle_id})  # fmt: skip
        # The reserved order's vehicle, made AVAILABLE behind its order's back.
        await conn.execute(sa.text("UPDATE vehicle SET status = 'AVAILABLE' WHERE id = :id"),
                           {"id": order.vehicle_id})  # fmt: skip
    assert await _violations(engine, orphans["RESERVED"]) == [
        "RESERVED without an order holding it"
    ]
    assert await _violations(engine, orphans["SOLD"]) == ["SOLD without an order that paid for it"]
    assert await _violations(engine, order.vehicle_id) == [
        "an order holds it, yet it is not RESERVED"
    ]
    async with engine.begin() as conn:  # put things right for the tests after this one
        await conn.execute(sa.text("UPDATE vehicle SET status = 'WITHDRAWN' WHERE id = ANY(:ids)"),
                           {"ids": list(orphans.values())})  # fmt: skip
        await conn.execute(sa.text("UPDATE vehicle SET status = 'RESERVED' WHERE id = :id"),
                           {"id": order.vehicle_id})  # fmt: skip
    assert await _violations(engine, order.vehicle_id) == []
