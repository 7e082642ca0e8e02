"""The Stripe payment gateway: the only module that imports `stripe`.

`stripe.StripeClient` with its async HTTPX client, pointed at `STRIPE_API_BASE` when set
(the local emulator in `dev` and the tests; Stripe itself otherwise). Choices:

- Every POST carries the idempotency key the caller saved before the call. stripe-python
  would otherwise make up a key per call: its own network retries would reuse it, but
  our next attempt (a retried checkout, a re-run job) would not, and Stripe would
  create a second PaymentIntent.
- `max_network_retries` (STRIPE_MAX_NETWORK_RETRIES) lets stripe-python retry timeouts,
  409s and 5xx itself, with backoff; what still fails is `GatewayUnavailable`.
- Webhooks are verified by stripe-python's own `WebhookSignature.verify_header` on the
  raw body, with Stripe's default tolerance of 300 seconds. stripe-python only refuses
  a timestamp that old; one more than the tolerance in the future is refused here too,
  so a signature made now cannot be kept for later use.
- Responses are turned into plain dicts at once (`to_dict()`), so the rest of the code
  never meets a StripeObject.
"""

from __future__ import annotations

import json
import time
from typing import Any

import stripe

from core.settings import Settings
from services.payments.gateway import (
    GatewayDeclined,
    GatewayError,
    GatewayRefused,
    GatewayUnavailable,
    Intent,
    InvalidWebhook,
    RefundState,
    WebhookEvent,
)

WEBHOOK_TOLERANCE_SECONDS = 300


def _refuse_future_timestamp(signature: str | None) -> None:
    """A verified Stripe-Signature whose `t=` lies beyond the tolerance ahead of now."""
    # Read as stripe-python reads it: the first `t=` item, which it found to be an integer.
    pairs = [item.split("=", 1) for item in (signature or "").split(",")]
    stamps = [pair[1] for pair in pairs if len(pair) == 2 and pair[0] == "t"]
    if stamps and int(stamps[0]) > time.time() + WEBHOOK_TOLERANCE_SECONDS:
        raise InvalidWebhook("the signature's timestamp is in the future")


def _intent(data: dict[str, Any]) -> Intent:
    error = data.get("last_payment_error") or {}
    return Intent(
        id=data["id"],
        status=data["status"],
        amount_minor=int(data["amount"]),
        currency=str(data["currency"]).upper(),
        client_secret=data.get("client_secret"),
        metadata={str(k): str(v) for k, v in (data.get("metadata") or {}).items()},
        created=int(data.get("created") or 0),
        failure_message=error.get("message"),
    )


def _refund(data: dict[str, Any]) -> RefundState:
    return RefundState(
        id=data["id"],
        status=data["status"],
        amount_minor=int(data["amount"]),
        currency=str(data["currency"]).upper(),
        payment_intent_id=data.get("payment_intent"),
        metadata={str(k): str(v) for k, v in (data.get("metadata") or {}).items()},
        created=int(data.get("created") or 0),
    )


def _translate(error: stripe.StripeError) -> GatewayError:
    """Stripe's error classes, as the rules see them."""
    message = error.user_message or type(error).__name__
    if isinstance(error, stripe.CardError):
        body = error.json_body if isinstance(error.json_body, dict) else {}
        intent = (body.get("error") or {}).get("payment_intent")
        return GatewayDeclined(
            message, code=error.code, intent=_intent(intent) if isinstance(intent, dict) else None
        )
    if isinstance(error, stripe.APIConnectionError | stripe.RateLimitError) or (
        isinstance(error, stripe.APIError) and (error.http_status or 500) >= 409
    ):
        return GatewayUnavailable(message, code=error.code)
    if isinstance(error, stripe.InvalidRequestError | stripe.IdempotencyError):
        return GatewayRefused(message, code=error.code)
    # Authentication and permission errors are configuration faults: let them be seen.
    return GatewayError(message, code=error.code)


class StripeGateway:
    """`PaymentGateway` on Stripe's API (or the emulator speaking it)."""

    def __init__(
        self,
        *,
        api_key: str,
        webhook_secret: str | None,
        api_base: str | None = None,
        timeout_seconds: float = 20.0,
        max_network_retries: int = 2,
    ) -> None:
        self._http = stripe.HTTPXClient(timeout=timeout_seconds)
        self._client = stripe.StripeClient(
            api_key,
            base_addresses={"api": api_base} if api_base else None,
            max_network_retries=max_network_retries,
            http_client=self._http,
        )
        self._api_key = api_key
        self._webhook_secret = webhook_secret

    @property
    def allows_test_payments(self) -> bool:
        return not self._api_key.startswith(("sk_live_", "rk_live_"))

    async def create_intent(
        self,
        *,
        amount_minor: int,
        currency: str,
        idempotency_key: str,
        metadata: dict[str, str],
        description: str,
    ) -> Intent:
        try:
            created = await self._client.v1.payment_intents.create_async(
                {
                    "amount": amount_minor,
                    "currency": currency.lower(),
                    "automatic_payment_methods": {"enabled": True},
                    "description": description,
                    "metadata": metadata,
                },
                {"idempotency_key": idempotency_key},
            )
        except stripe.StripeError as error:
            raise _translate(error) from error
        return _intent(created.to_dict())

    async def retrieve_intent(self, intent_id: str) -> Intent:
        try:
            found = await self._client.v1.payment_intents.retrieve_async(intent_id)
        except stripe.StripeError as error:
            raise _translate(error) from error
        return _intent(found.to_dict())

    async def confirm_intent(
        self, intent_id: str, *, payment_method: str, idempotency_key: str
    ) -> Intent:
        try:
            confirmed = await self._client.v1.payment_intents.confirm_async(
                intent_id, {"payment_method": payment_method}, {"idempotency_key": idempotency_key}
            )
        except stripe.StripeError as error:
            raise _translate(error) from error
        return _intent(confirmed.to_dict())

    async def cancel_intent(self, intent_id: str, *, idempotency_key: str) -> Intent:
        try:
            canceled = await self._client.v1.payment_intents.cancel_async(
                intent_id,
                {"cancellation_reason": "abandoned"},
                {"idempotency_key": idempotency_key},
            )
        except stripe.StripeError as error:
            raise _translate(error) from error
        return _intent(canceled.to_dict())

    async def refund(
        self,
        *,
        payment_intent_id: str,
        amount_minor: int,
        idempotency_key: str,
        metadata: dict[str, str],
    ) -> RefundState:
        try:
            created = await self._client.v1.refunds.create_async(
                {
                    "payment_intent": payment_intent_id,
                    "amount": amount_minor,
                    "reason": "requested_by_customer",
                    "metadata": metadata,
                },
                {"idempotency_key": idempotency_key},
            )
        except stripe.StripeError as error:
            raise _translate(error) from error
        return _refund(created.to_dict())

    async def retrieve_refund(self, refund_id: str) -> RefundState:
        try:
            found = await self._client.v1.refunds.retrieve_async(refund_id)
        except stripe.StripeError as error:
            raise _translate(error) from error
        return _refund(found.to_dict())

    def parse_webhook(self, payload: bytes, signature: str | None) -> WebhookEvent:
        if not self._webhook_secret:
            raise InvalidWebhook("no webhook signing secret is configured")
        try:
            stripe.WebhookSignature.verify_header(
                payload, signature, self._webhook_secret, WEBHOOK_TOLERANCE_SECONDS
            )
            _refuse_future_timestamp(signature)
            event = json.loads(payload)
        except stripe.SignatureVerificationError as error:
            raise InvalidWebhook(error.user_message or "invalid signature") from None
        except (UnicodeDecodeError, ValueError):
            raise InvalidWebhook("the body is not JSON") from None
        if not (
            isinstance(event, dict)
            and event.get("object") == "event"
            and isinstance(event.get("id"), str)
            and isinstance(event.get("type"), str)
        ):
            raise InvalidWebhook("the body is not a Stripe event")
        data = event.get("data")
        if not (isinstance(data, dict) and isinstance(data.get("object"), dict)):
            raise InvalidWebhook("the event carries no object")
        return WebhookEvent(
            id=str(event["id"]),
            type=str(event["type"]),
            created=int(event.get("created") or 0),
            data_object=data["object"],
            payload=event,
        )

    async def aclose(self) -> None:
        await self._http.close_async()  # type: ignore[no-untyped-call]


def create_payment_gateway(settings: Settings) -> StripeGateway | None:
    """The configured gateway, or None when no Stripe key is set (payments switched off)."""
    if settings.stripe_secret_key is None:
        return None
    secret = settings.stripe_webhook_secret
    return StripeGateway(
        api_key=settings.stripe_secret_key.get_secret_value(),
        webhook_secret=secret.get_secret_value() if secret is not None else None,
        api_base=settings.stripe_api_base,
        timeout_seconds=settings.stripe_timeout_seconds,
        max_network_retries=settings.stripe_max_network_retries,
    )
