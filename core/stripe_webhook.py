"""POST /webhooks/stripe: verify, store, hand to a job, answer at once.

1. The Stripe-Signature header is verified on the raw body with the signing secret
   (services/payments/stripe_gateway.py, stripe-python's own check, 300 s tolerance).
   A missing, wrong or stale signature answers 400 and writes nothing.
2. The event is stored by its id (services/payments/webhooks.py); a redelivery stores
   nothing and is acknowledged like the first delivery (200), so Stripe stops retrying.
3. While the event is not applied, the `apply_stripe_event` job is enqueued with the
   job id `stripe-event:<event id>`, so arq keeps one job however many deliveries come.
   If Redis refuses, the event stays stored and reconciliation applies it: the answer is
   still 200, because nothing Stripe could resend would help.

A database failure answers 500, and Stripe delivers again later.
"""

from __future__ import annotations

import logging

from redis.exceptions import RedisError
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.requests import Request
from starlette.responses import JSONResponse

from core.job_queue import ArqJobQueue
from jobs.payments import APPLY_STRIPE_EVENT, stripe_event_job_id
from services.payments.gateway import InvalidWebhook, PaymentGateway
from services.payments.webhooks import receive_event

log = logging.getLogger(__name__)
MAX_WEBHOOK_BYTES = 1_000_000  # Stripe's events are a few kilobytes


class StripeWebhookEndpoint:
    """The endpoint (`handle`), holding what it needs (the gateway may be None: no payments)."""

    def __init__(
        self, engine: AsyncEngine, gateway: PaymentGateway | None, jobs: ArqJobQueue
    ) -> None:
        self.engine = engine
        self.gateway = gateway
        self.jobs = jobs

    async def handle(self, request: Request) -> JSONResponse:
        if self.gateway is None:
            return JSONResponse({"error": "payments are not configured"}, status_code=503)
        body = await request.body()
        if len(body) > MAX_WEBHOOK_BYTES:
            return JSONResponse({"error": "the body is too large"}, status_code=413)
        try:
            event = self.gateway.parse_webhook(body, request.headers.get("stripe-signature"))
        except InvalidWebhook as error:
            log.warning("stripe webhook refused", extra={"reason": error.message})
            return JSONResponse({"error": error.message}, status_code=400)
        received = await receive_event(self.engine, event)
        if received.pending:
            try:
                await self.jobs.enqueue(
                    APPLY_STRIPE_EVENT, event.id, job_id=stripe_event_job_id(event.id)
                )
            except RedisError:
                log.warning("stripe event stored, not enqueued", extra={"event": event.id})
        log.info(
            "stripe webhook received",
            extra={"event": event.id, "type": event.type, "duplicate": not received.new},
        )
        return JSONResponse({"received": True, "duplicate": not received.new})
