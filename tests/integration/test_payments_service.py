"""Payments on real PostgreSQL and Redis, through the real stripe client and the emulator,
with webhooks through the HTTP endpoint and jobs through a real arq worker."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
import sqlalchemy as sa
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from core.settings import Settings
from core.stripe_emulator import StripeEmulator
from models.account import UserRole
from services.orders.lifecycle import Actor, ActorKind, OrderEventKind
from services.orders.ordering import transition_order
from services.payments.checkout import checkout
from services.payments.errors import NotRefundableError, ProviderUnavailableError
from services.payments.gateway import GatewayDeclined
from services.payments.reconcile import reconcile
from services.payments.refunds import refund_order
from services.payments.stripe_gateway import StripeGateway
from tests.accounts_data import create_user
from tests.stripe_fixtures import (
    API_KEY,
    WEBHOOK_SECRET,
    ReadyOrder,
    intents_of,
    order_state,
    reserved_order,
    run_jobs,
)

ADMIN = Actor(ActorKind.ADMIN, 1)


@pytest.fixture(scope="module")
async def buyer_id(engine: AsyncEngine, settings: Settings) -> int:
    return (await create_user(engine, settings, UserRole.BUYER)).id


@pytest.fixture
async def order(engine: AsyncEngine, redis: Redis, buyer_id: int) -> ReadyOrder:
    return await reserved_order(engine, redis, buyer_id)


def _buyer(order: ReadyOrder) -> Actor:
    return Actor(ActorKind.BUYER, order.buyer_id)


async def _post(
    client: httpx.AsyncClient, emulator: StripeEmulator, event_id: str
) -> httpx.Response:
    body, signature = emulator.signed(event_id)
    return await client.post("/webhooks/stripe", content=body,
                             headers={"stripe-signature": signature, "content-type": "application/json"})  # fmt: skip


def _event(emulator: StripeEmulator, event_type: str, intent_id: str) -> str:
    [event] = emulator.events_of(event_type, intent_id)
    return str(event["id"])


async def test_checkout_creates_one_intent_for_the_locked_total_and_a_retry_finds_it(
    engine: AsyncEngine, redis: Redis, gateway: StripeGateway, stripe_emulator: StripeEmulator,
    order: ReadyOrder,
) -> None:  # fmt: skip
    first = await checkout(engine, redis, gateway, order.id, _buyer(order))
    again = await checkout(engine, redis, gateway, order.id, _buyer(order))
    assert again == first
    [intent] = intents_of(stripe_emulator, order.id)
    assert (intent["amount"], intent["currency"], intent["status"]) == (
        order.total_minor,
        "eur",
        "requires_payment_method",
    )
    assert intent["metadata"] == {
        "order_id": str(order.id),
        "payment_id": str(first.payment_id),
        "attempt": "1",
    }
    assert first.client_secret == intent["client_secret"]
    state = await order_state(engine, order.id)
    assert state["status"] == "PAYMENT_PENDING"
    assert state["payments"] == [(1, "PENDING", intent["id"])]
    assert state["events"][-1] == ("PAYMENT_PENDING", f"buyer:{order.buyer_id}")
    async with engine.connect() as conn:
        key = await conn.scalar(
            sa.text("SELECT idempotency_key FROM payment WHERE order_id = :id"), {"id": order.id}
        )
    assert key == f"order-{order.id}-attempt-1"


async def test_a_checkout_retried_after_a_timeout_makes_exactly_one_intent(
    engine: AsyncEngine, redis: Redis, gateway: StripeGateway, stripe_emulator: StripeEmulator,
    order: ReadyOrder,
) -> None:  # fmt: skip
    impatient = StripeGateway(api_key=API_KEY, webhook_secret=WEBHOOK_SECRET, api_base=stripe_emulator.base_url,
                              timeout_seconds=0.3, max_network_retries=1)  # fmt: skip
    # Stripe does the work but both answers (the call and stripe-python's own retry) are lost.
    stripe_emulator.delay_next_responses(2, 1.0)
    try:
        with pytest.raises(ProviderUnavailableError):
            await checkout(engine, redis, impatient, order.id, _buyer(order))
    finally:
        await impatient.aclose()
    lost = await order_state(engine, order.id)
    assert lost["status"] == "PAYMENT_PENDING"
    assert lost["payments"] == [(1, "PENDING", None)]  # the key was saved, the id not yet known
    assert len(intents_of(stripe_emulator, order.id)) == 1
    retried = await checkout(engine, redis, gateway, order.id, _buyer(order))
    [intent] = intents_of(stripe_emulator, order.id)
    assert retried.client_secret == intent["client_secret"]
    assert (await order_state(engine, order.id))["payments"] == [(1, "PENDING", intent["id"])]


async def test_succeeded_before_processing_leaves_the_order_paid_once(
    engine: AsyncEngine, redis: Redis, gateway: StripeGateway, no_webhooks: StripeEmulator,
    pay_client: httpx.AsyncClient, payment_settings: Settings, order: ReadyOrder,
) -> None:  # fmt: skip
    paying = await checkout(engine, redis, gateway, order.id, _buyer(order))
    [intent] = intents_of(no_webhooks, order.id)
    await gateway.confirm_intent(
        intent["id"], payment_method="pm_sepa_debit", idempotency_key=f"c-{paying.payment_id}"
    )
    no_webhooks.settle(intent["id"])
    for event_type in (
        "payment_intent.succeeded",
        "payment_intent.processing",
        "payment_intent.created",
    ):
        response = await _post(
            pay_client, no_webhooks, _event(no_webhooks, event_type, intent["id"])
        )
        assert response.status_code == 200
        await run_jobs(payment_settings)
    state = await order_state(engine, order.id)
    assert (state["status"], state["vehicle"]) == ("PAID", "SOLD")
    assert state["payments"] == [(1, "SUCCEEDED", intent["id"])]
    assert [to for to, _ in state["events"]].count("PAID") == 1
    assert state["events"][-1] == ("PAID", "payments")


async def test_failed_after_succeeded_leaves_the_order_paid(
    engine: AsyncEngine, redis: Redis, gateway: StripeGateway, no_webhooks: StripeEmulator,
    pay_client: httpx.AsyncClient, payment_settings: Settings, order: ReadyOrder,
) -> None:  # fmt: skip
    await checkout(engine, redis, gateway, order.id, _buyer(order))
    [intent] = intents_of(no_webhooks, order.id)
    with pytest.raises(GatewayDeclined):
        await gateway.confirm_intent(
            intent["id"],
            payment_method="pm_card_chargeDeclined",
            idempotency_key="d-" + intent["id"],
        )
    await gateway.confirm_intent(
        intent["id"], payment_method="pm_card_visa", idempotency_key="v-" + intent["id"]
    )
    for event_type in ("payment_intent.succeeded", "payment_intent.payment_failed"):
        assert (
            await _post(pay_client, no_webhooks, _event(no_webhooks, event_type, intent["id"]))
        ).status_code == 200
        await run_jobs(payment_settings)  # applied in this order
    state = await order_state(engine, order.id)
    assert state["status"] == "PAID"
    assert state["payments"] == [(1, "SUCCEEDED", intent["id"])]
    assert [to for to, _ in state["events"]] == [
        "DRAFT",
        "QUOTED",
        "RESERVED",
        "PAYMENT_PENDING",
        "PAID",
    ]


async def test_a_decline_then_a_retry_on_the_same_intent_ends_paid(
    engine: AsyncEngine, redis: Redis, gateway: StripeGateway, no_webhooks: StripeEmulator,
    pay_client: httpx.AsyncClient, payment_settings: Settings, order: ReadyOrder,
) -> None:  # fmt: skip
    await checkout(engine, redis, gateway, order.id, _buyer(order))
    [intent] = intents_of(no_webhooks, order.id)
    with pytest.raises(GatewayDeclined):
        await gateway.confirm_intent(
            intent["id"],
            payment_method="pm_card_chargeDeclined",
            idempotency_key="d-" + intent["id"],
        )
    await _post(
        pay_client, no_webhooks, _event(no_webhooks, "payment_intent.payment_failed", intent["id"])
    )
    await run_jobs(payment_settings)
    failed = await order_state(engine, order.id)
    assert (failed["status"], failed["payments"]) == (
        "PAYMENT_FAILED",
        [(1, "FAILED", intent["id"])],
    )
    # The buyer tries another card on the same PaymentIntent, as Stripe.js allows.
    await gateway.confirm_intent(
        intent["id"], payment_method="pm_card_visa", idempotency_key="v-" + intent["id"]
    )
    await _post(
        pay_client, no_webhooks, _event(no_webhooks, "payment_intent.succeeded", intent["id"])
    )
    await run_jobs(payment_settings)
    state = await order_state(engine, order.id)
    assert state["status"] == "PAID"
    assert state["events"][-3:] == [("PAYMENT_FAILED", "payments"), ("PAYMENT_PENDING", f"buyer:{order.buyer_id}"),
                                    ("PAID", "payments")]  # fmt: skip


async def test_a_webhook_overtaking_the_checkout_finds_its_payment_by_metadata(
    engine: AsyncEngine, redis: Redis, gateway: StripeGateway, no_webhooks: StripeEmulator,
    pay_client: httpx.AsyncClient, payment_settings: Settings, order: ReadyOrder,
) -> None:  # fmt: skip
    await checkout(engine, redis, gateway, order.id, _buyer(order))
    [intent] = intents_of(no_webhooks, order.id)
    async with engine.begin() as conn:  # as if checkout had not recorded the id yet
        await conn.execute(
            sa.text("UPDATE payment SET stripe_payment_intent_id = NULL WHERE order_id = :id"),
            {"id": order.id},
        )
    await gateway.confirm_intent(
        intent["id"], payment_method="pm_card_visa", idempotency_key="v-" + intent["id"]
    )
    await _post(
        pay_client, no_webhooks, _event(no_webhooks, "payment_intent.succeeded", intent["id"])
    )
    await run_jobs(payment_settings)
    state = await order_state(engine, order.id)
    assert (state["status"], state["payments"]) == ("PAID", [(1, "SUCCEEDED", intent["id"])])


async def test_with_webhooks_off_reconciliation_alone_brings_the_order_to_paid(
    engine: AsyncEngine, redis: Redis, gateway: StripeGateway, no_webhooks: StripeEmulator,
    payment_settings: Settings, order: ReadyOrder,
) -> None:  # fmt: skip
    await checkout(engine, redis, gateway, order.id, _buyer(order))
    [intent] = intents_of(no_webhooks, order.id)
    await gateway.confirm_intent(
        intent["id"], payment_method="pm_card_visa", idempotency_key="v-" + intent["id"]
    )
    await run_jobs(payment_settings)
    assert (await order_state(engine, order.id))["status"] == "PAYMENT_PENDING"  # nothing told us
    from arq import create_pool

    from core.redis_keys import JOB_QUEUE
    from jobs.worker import redis_settings

    eager = payment_settings.model_copy(update={"payment_reconcile_after_seconds": 0})
    pool = await create_pool(redis_settings(eager), default_queue_name=JOB_QUEUE)
    try:
        job = await pool.enqueue_job("reconcile_payments")
        assert job is not None
        await run_jobs(eager)
        assert await job.result(timeout=5) >= 1
    finally:
        await pool.aclose()
    state = await order_state(engine, order.id)
    assert (state["status"], state["vehicle"]) == ("PAID", "SOLD")
    assert state["events"][-1] == ("PAID", "payments")
    await reconcile(engine, redis, gateway, older_than=timedelta(0))  # again: nothing changes
    assert await order_state(engine, order.id) == state


async def test_a_new_attempt_after_a_failure_cancels_the_old_intent(
    engine: AsyncEngine, redis: Redis, gateway: StripeGateway, no_webhooks: StripeEmulator,
    order: ReadyOrder,
) -> None:  # fmt: skip
    await checkout(engine, redis, gateway, order.id, _buyer(order))
    [first] = intents_of(no_webhooks, order.id)
    await transition_order(
        engine, redis, order.id, OrderEventKind.PAYMENT_FAILED, Actor(ActorKind.PAYMENTS)
    )
    second = await checkout(engine, redis, gateway, order.id, _buyer(order))
    intents = {i["id"]: i for i in intents_of(no_webhooks, order.id)}
    assert len(intents) == 2
    assert intents[first["id"]]["status"] == "canceled"
    [(new_id, new)] = [(k, v) for k, v in intents.items() if k != first["id"]]
    assert new["metadata"]["attempt"] == "2"
    assert second.client_secret == new["client_secret"]
    state = await order_state(engine, order.id)
    assert state["payments"] == [(1, "CANCELED", first["id"]), (2, "PENDING", new_id)]
    assert state["status"] == "PAYMENT_PENDING"


async def _paid(engine: AsyncEngine, redis: Redis, gateway: StripeGateway, emulator: StripeEmulator,
                order: ReadyOrder) -> str:  # fmt: skip
    from services.payments.confirm import confirm_test_payment

    result = await checkout(engine, redis, gateway, order.id, _buyer(order))
    await confirm_test_payment(engine, redis, gateway, result.payment_id, "pm_card_visa")
    assert (await order_state(engine, order.id))["status"] == "PAID"
    [intent] = intents_of(emulator, order.id)
    return str(intent["id"])


async def test_a_refund_settles_on_stripes_event_and_releases_the_vehicle(
    engine: AsyncEngine, redis: Redis, gateway: StripeGateway, webhooks: StripeEmulator,
    payment_settings: Settings, order: ReadyOrder,
) -> None:  # fmt: skip
    intent_id = await _paid(engine, redis, gateway, webhooks, order)
    await webhooks.drain()
    await run_jobs(payment_settings)
    webhooks.webhooks_enabled = False
    started = await refund_order(
        engine, redis, gateway, order.id, reason="customer withdrew", requested_by=ADMIN
    )
    again = await refund_order(
        engine, redis, gateway, order.id, reason="customer withdrew", requested_by=ADMIN
    )
    assert again == started
    assert (
        len([r for r in webhooks.state.refunds.values() if r["payment_intent"] == intent_id]) == 1
    )
    pending = await order_state(engine, order.id)
    assert (pending["status"], pending["vehicle"]) == ("PAID", "SOLD")  # until Stripe says so
    for event_type in ("charge.refunded", "refund.created"):
        [event] = [
            e
            for e in webhooks.events_of(event_type)
            if intent_id in (e["data"]["object"].get("payment_intent"),)
        ]
        await webhooks.deliver(event["id"])
    await run_jobs(payment_settings)
    state = await order_state(engine, order.id)
    assert (state["status"], state["vehicle"]) == ("REFUNDED", "AVAILABLE")
    assert state["payments"] == [(1, "REFUNDED", intent_id)]
    assert state["events"][-1] == ("REFUNDED", "payments")
    async with engine.connect() as conn:
        refund = (await conn.execute(sa.text("SELECT status, reason, requested_by FROM refund WHERE order_id = :id"),
                                     {"id": order.id})).one()  # fmt: skip
    assert tuple(refund) == ("SUCCEEDED", "customer withdrew", "admin:1")
    with pytest.raises(NotRefundableError):
        await refund_order(engine, redis, gateway, order.id, reason="again", requested_by=ADMIN)


async def test_a_lost_refund_event_is_found_by_reconciliation_and_a_delivered_car_stays_sold(
    engine: AsyncEngine, redis: Redis, gateway: StripeGateway, no_webhooks: StripeEmulator,
    order: ReadyOrder,
) -> None:  # fmt: skip
    await _paid(engine, redis, gateway, no_webhooks, order)
    for step in (OrderEventKind.PREPARE, OrderEventKind.SHIP, OrderEventKind.DELIVER):
        await transition_order(engine, redis, order.id, step, ADMIN)
    await refund_order(
        engine, redis, gateway, order.id, reason="damaged on arrival", requested_by=ADMIN
    )
    await reconcile(engine, redis, gateway, older_than=timedelta(0))
    state = await order_state(engine, order.id)
    assert (state["status"], state["vehicle"]) == ("REFUNDED", "SOLD")


async def test_a_payment_for_a_cancelled_order_is_given_back(
    engine: AsyncEngine, redis: Redis, gateway: StripeGateway, webhooks: StripeEmulator,
    payment_settings: Settings, order: ReadyOrder,
) -> None:  # fmt: skip
    await checkout(engine, redis, gateway, order.id, _buyer(order))
    await transition_order(engine, redis, order.id, OrderEventKind.CANCEL, _buyer(order))
    [intent] = intents_of(webhooks, order.id)
    # The buyer's browser still held the client secret and paid.
    await gateway.confirm_intent(
        intent["id"], payment_method="pm_card_visa", idempotency_key="v-" + intent["id"]
    )
    await webhooks.drain()
    await run_jobs(payment_settings)
    await webhooks.drain()
    await run_jobs(payment_settings)
    state = await order_state(engine, order.id)
    assert (state["status"], state["vehicle"]) == ("CANCELLED", "AVAILABLE")
    assert state["payments"] == [(1, "REFUNDED", intent["id"])]
    [refund] = [r for r in webhooks.state.refunds.values() if r["payment_intent"] == intent["id"]]
    assert refund["amount"] == order.total_minor
