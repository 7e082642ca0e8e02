"""Payment fixtures: the local Stripe emulator for the session, settings and an app that
talk to it through the real `stripe` client, and helpers to run the arq worker and to
make orders ready to pay. Registered in tests/conftest.py as a pytest plugin."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from pydantic import SecretStr
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from core.app import create_app
from core.settings import Settings
from core.stripe_emulator import StripeEmulator
from jobs.worker import create_worker
from services.orders.lifecycle import Actor, ActorKind
from services.orders.ordering import create_order
from services.payments.stripe_gateway import StripeGateway, create_payment_gateway
from tests.accounts_data import create_vehicle

API_KEY = "sk_test_suite"
WEBHOOK_SECRET = "whsec_suite"
WEBHOOK_URL = "http://testserver/webhooks/stripe"


@pytest.fixture(scope="session")
async def stripe_emulator() -> AsyncIterator[StripeEmulator]:
    """The emulator on a free port; webhooks go to `payments_app` once it exists."""
    emulator = StripeEmulator(
        api_key=API_KEY, webhook_secret=WEBHOOK_SECRET, webhook_url=None,
        retry_delays=(0.05, 0.1, 0.2), settle_after=None,
    )  # fmt: skip
    await emulator.start()
    yield emulator
    await emulator.stop()


@pytest.fixture(scope="session")
def payment_settings(settings: Settings, stripe_emulator: StripeEmulator) -> Settings:
    return settings.model_copy(
        update={
            "stripe_secret_key": SecretStr(API_KEY),
            "stripe_webhook_secret": SecretStr(WEBHOOK_SECRET),
            "stripe_api_base": stripe_emulator.base_url,
            "stripe_timeout_seconds": 5.0,
            "stripe_max_network_retries": 1,
        }
    )


@pytest.fixture(scope="session")
async def payments_app(
    payment_settings: Settings, database: str, stripe_emulator: StripeEmulator
) -> AsyncIterator[Any]:
    """The app on the emulator; the emulator's webhooks reach it in-process."""
    application = create_app(payment_settings)
    async with application.router.lifespan_context(application):
        stripe_emulator.send_webhooks_to(
            WEBHOOK_URL, transport=httpx.ASGITransport(app=application)
        )
        yield application


@pytest.fixture
async def pay_client(payments_app: Any) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=payments_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


@pytest.fixture(scope="session")
async def gateway(payment_settings: Settings) -> AsyncIterator[StripeGateway]:
    """The project's Stripe gateway (the real stripe client) on the emulator."""
    made = create_payment_gateway(payment_settings)
    assert made is not None
    yield made
    await made.aclose()


@pytest.fixture
async def webhooks(
    stripe_emulator: StripeEmulator, payments_app: Any
) -> AsyncIterator[StripeEmulator]:
    """The emulator with webhook delivery on (to `payments_app`) for the test, drained after."""
    stripe_emulator.webhooks_enabled = True
    yield stripe_emulator
    await stripe_emulator.drain()


@pytest.fixture
async def no_webhooks(
    stripe_emulator: StripeEmulator, payments_app: Any
) -> AsyncIterator[StripeEmulator]:
    """The emulator with webhook delivery switched off for the test."""
    stripe_emulator.webhooks_enabled = False
    yield stripe_emulator
    await stripe_emulator.drain()
    stripe_emulator.webhooks_enabled = True


async def run_jobs(settings: Settings) -> None:
    """Run every queued job once with a real arq worker (burst mode, no schedules)."""
    worker = create_worker(settings, handle_signals=False, burst=True)
    worker.cron_jobs = []
    try:
        await worker.main()
    finally:
        await worker.close()


@dataclass(frozen=True)
class ReadyOrder:
    """A RESERVED order of a fresh vehicle, ready to check out."""

    id: int
    vehicle_id: int
    buyer_id: int
    total_minor: int


async def reserved_order(engine: AsyncEngine, redis: Redis, buyer_id: int) -> ReadyOrder:
    async with engine.connect() as conn:
        dealer_id = int(await conn.scalar(sa.text("SELECT min(id) FROM dealer")))
    vehicle = await create_vehicle(engine, redis, dealer_id)
    buyer = Actor(ActorKind.BUYER, buyer_id)
    outcome = await create_order(
        engine, redis, customer=buyer, buyer_id=buyer_id, partner_id=None,
        vehicle_id=vehicle["id"], destination_country="DE", reserve=True,
    )  # fmt: skip
    async with engine.connect() as conn:
        total = await conn.scalar(
            sa.text("SELECT total_minor FROM orders WHERE id = :id"), {"id": outcome.order_id}
        )
    return ReadyOrder(outcome.order_id, vehicle["id"], buyer_id, int(total))


async def order_state(engine: AsyncEngine, order_id: int) -> dict[str, Any]:
    """The order's status, its vehicle's, its events (to, actor) and its payments."""
    async with engine.connect() as conn:
        order = (
            await conn.execute(
                sa.text(
                    "SELECT o.status, v.status AS vehicle FROM orders o JOIN vehicle v ON v.id = o.vehicle_id"
                    " WHERE o.id = :id"
                ),
                {"id": order_id},
            )
        ).one()
        events = (
            await conn.execute(
                sa.text(
                    "SELECT to_status, actor FROM order_event WHERE order_id = :id ORDER BY sequence"
                ),
                {"id": order_id},
            )
        ).all()
        payments = (
            await conn.execute(
                sa.text(
                    "SELECT attempt, status, stripe_payment_intent_id FROM payment WHERE order_id = :id"
                    " ORDER BY attempt"
                ),
                {"id": order_id},
            )
        ).all()
    return {
        "status": order.status, "vehicle": order.vehicle,
        "events": [(e.to_status, e.actor) for e in events],
        "payments": [(p.attempt, p.status, p.stripe_payment_intent_id) for p in payments],
    }  # fmt: skip


def intents_of(emulator: StripeEmulator, order_id: int) -> list[dict[str, Any]]:
    """The PaymentIntents the emulator holds for an order."""
    return [
        intent for intent in emulator.state.intents.values()
        if intent["metadata"].get("order_id") == str(order_id)
    ]  # fmt: skip
