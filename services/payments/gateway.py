"""The payment gateway: what the business rules need from a payment provider.

The rules speak to a `PaymentGateway` in plain values (`Intent`, `RefundState`,
`WebhookEvent`); services/payments/stripe_gateway.py is the one implementation and the
only module that imports `stripe`. Every call that creates something takes the
idempotency key the caller saved *before* the call: the provider answers a repeated key
with the first result, so a retry never creates a second PaymentIntent or refund.

Failures, as the rules see them:

    GatewayError
     ├── GatewayUnavailable     timeout, connection, rate limit, 5xx: try again later
     ├── GatewayDeclined        the card was declined (carries the intent as it now is)
     ├── GatewayRefused         the provider refused the request (wrong state, bad id...)
     └── InvalidWebhook         a webhook's signature is missing, wrong or stale
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class Intent:
    """A PaymentIntent as the provider last described it."""

    id: str
    status: str  # Stripe's word: requires_payment_method, processing, succeeded...
    amount_minor: int
    currency: str  # upper case, as we store it
    client_secret: str | None
    metadata: dict[str, str]
    created: int  # seconds since the epoch
    failure_message: str | None = None


@dataclass(frozen=True, slots=True)
class RefundState:
    """A refund as the provider last described it."""

    id: str
    status: str  # pending, requires_action, succeeded, failed, canceled
    amount_minor: int
    currency: str
    payment_intent_id: str | None
    metadata: dict[str, str]
    created: int


@dataclass(frozen=True, slots=True)
class WebhookEvent:
    """A verified webhook event: its id, type, time and the object it carries."""

    id: str
    type: str
    created: int
    data_object: dict[str, Any]
    payload: dict[str, Any] = field(repr=False)


class GatewayError(Exception):
    """The provider could not do what was asked."""

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


class GatewayUnavailable(GatewayError):
    """The provider did not answer in time, or asked us to come back later."""


class GatewayRefused(GatewayError):
    """The provider refused the request (a client error: unexpected state, unknown id)."""


class GatewayDeclined(GatewayError):
    """The payment method was declined; `intent` is the PaymentIntent after the decline."""

    def __init__(self, message: str, *, code: str | None, intent: Intent | None) -> None:
        super().__init__(message, code=code)
        self.intent = intent


class InvalidWebhook(GatewayError):
    """A webhook whose signature is missing, does not match, or is too old."""


class PaymentGateway(Protocol):
    async def create_intent(
        self,
        *,
        amount_minor: int,
        currency: str,
        idempotency_key: str,
        metadata: dict[str, str],
        description: str,
    ) -> Intent:
        """Create a PaymentIntent (or get back the one this key already created)."""

    async def retrieve_intent(self, intent_id: str) -> Intent:
        """The PaymentIntent as it is now."""

    async def confirm_intent(
        self, intent_id: str, *, payment_method: str, idempotency_key: str
    ) -> Intent:
        """Confirm with a payment method, as Stripe.js does in the buyer's browser."""

    async def cancel_intent(self, intent_id: str, *, idempotency_key: str) -> Intent:
        """Cancel a PaymentIntent that has not succeeded."""

    async def refund(
        self,
        *,
        payment_intent_id: str,
        amount_minor: int,
        idempotency_key: str,
        metadata: dict[str, str],
    ) -> RefundState:
        """Refund (part of) a succeeded PaymentIntent."""

    async def retrieve_refund(self, refund_id: str) -> RefundState:
        """The refund as it is now."""

    def parse_webhook(self, payload: bytes, signature: str | None) -> WebhookEvent:
        """Verify a webhook's signature on the raw body and parse it; `InvalidWebhook` if not."""

    @property
    def allows_test_payments(self) -> bool:
        """Whether test payment methods may be used (a test key, never a live one)."""

    async def aclose(self) -> None:
        """Release the HTTP connections."""
