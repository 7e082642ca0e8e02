"""The local Stripe emulator, spoken to by the real `stripe` client (stripe-python) and
checked against stripe-python's own webhook verification."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import stripe
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from core.stripe_emulator import StripeEmulator
from tests.stripe_fixtures import API_KEY, WEBHOOK_SECRET


@pytest.fixture
async def client(stripe_emulator: StripeEmulator) -> AsyncIterator[stripe.StripeClient]:
    http = stripe.HTTPXClient(timeout=5)
    yield stripe.StripeClient(API_KEY, base_addresses={"api": stripe_emulator.base_url},
                              max_network_retries=0, http_client=http)  # fmt: skip
    await http.close_async()


async def _intent(client: stripe.StripeClient, key: str, amount: int = 125_000) -> Any:
    return await client.v1.payment_intents.create_async(
        {"amount": amount, "currency": "eur", "metadata": {"order_id": "42"},
         "automatic_payment_methods": {"enabled": True}},
        {"idempotency_key": key},
    )  # fmt: skip


def _key() -> str:
    return f"test-{time.monotonic_ns()}"


async def test_a_payment_intent_is_created_retrieved_and_replayed_by_its_key(
    client: stripe.StripeClient, stripe_emulator: StripeEmulator
) -> None:
    key = _key()
    created = await _intent(client, key)
    assert created.status == "requires_payment_method"
    assert created.amount == 125_000
    assert created.currency == "eur"
    assert created.metadata.to_dict() == {"order_id": "42"}
    assert created.client_secret.startswith(f"{created.id}_secret_")
    again = await _intent(client, key)
    assert again.id == created.id
    assert again.last_response.headers["idempotent-replayed"] == "true"
    found = await client.v1.payment_intents.retrieve_async(created.id)
    assert found.to_dict() == created.to_dict()
    with pytest.raises(stripe.IdempotencyError, match="same parameters"):
        await _intent(client, key, amount=99_000)
    assert len([i for i in stripe_emulator.state.intents.values() if i["id"] == created.id]) == 1


async def test_concurrent_requests_with_one_key_create_one_intent(
    client: stripe.StripeClient, stripe_emulator: StripeEmulator
) -> None:
    before = len(stripe_emulator.state.intents)
    key = _key()
    # stripe-python retries the 409 a request gets while the first one runs.
    http = stripe.HTTPXClient(timeout=5)
    retrying = stripe.StripeClient(API_KEY, base_addresses={"api": stripe_emulator.base_url},
                                   max_network_retries=3, http_client=http)  # fmt: skip
    try:
        intents = await asyncio.gather(*(_intent(retrying, key) for _ in range(5)))
    finally:
        await http.close_async()
    assert len({intent.id for intent in intents}) == 1
    assert len(stripe_emulator.state.intents) == before + 1


async def test_test_cards_decline_then_succeed_as_stripe_does(
    client: stripe.StripeClient, stripe_emulator: StripeEmulator
) -> None:
    intent = await _intent(client, _key())
    pis = client.v1.payment_intents
    with pytest.raises(stripe.CardError) as declined:
        await pis.confirm_async(
            intent.id, {"payment_method": "pm_card_chargeDeclinedInsufficientFunds"}
        )
    error = declined.value
    assert error.http_status == 402
    assert error.code == "card_declined"
    assert error.json_body["error"]["decline_code"] == "insufficient_funds"
    assert error.json_body["error"]["payment_intent"]["status"] == "requires_payment_method"
    after = await pis.retrieve_async(intent.id)
    assert after.last_payment_error.message == "Your card has insufficient funds."
    paid = await pis.confirm_async(intent.id, {"payment_method": "pm_card_visa"})
    assert (paid.status, paid.amount_received, paid.last_payment_error) == (
        "succeeded",
        125_000,
        None,
    )
    with pytest.raises(stripe.InvalidRequestError) as again:
        await pis.confirm_async(intent.id, {"payment_method": "pm_card_visa"})
    assert again.value.code == "payment_intent_unexpected_state"
    types = [e["type"] for e in stripe_emulator.events if e["data"]["object"].get("id") == intent.id
             or e["data"]["object"].get("payment_intent") == intent.id]  # fmt: skip
    assert types == ["payment_intent.created", "payment_intent.payment_failed",
                     "charge.succeeded", "payment_intent.succeeded"]  # fmt: skip


async def test_a_delayed_method_processes_first_and_cancel_and_refund_follow_the_rules(
    client: stripe.StripeClient, stripe_emulator: StripeEmulator
) -> None:
    pis = client.v1.payment_intents
    sepa = await _intent(client, _key())
    processing = await pis.confirm_async(sepa.id, {"payment_method": "pm_sepa_debit"})
    assert processing.status == "processing"
    stripe_emulator.settle(sepa.id)
    assert (await pis.retrieve_async(sepa.id)).status == "succeeded"

    unpaid = await _intent(client, _key())
    with pytest.raises(stripe.InvalidRequestError) as not_paid:
        await client.v1.refunds.create_async({"payment_intent": unpaid.id})
    assert not_paid.value.code == "charge_not_refundable"
    canceled = await pis.cancel_async(unpaid.id, {"cancellation_reason": "abandoned"})
    assert canceled.status == "canceled"
    with pytest.raises(stripe.InvalidRequestError) as twice:
        await pis.cancel_async(unpaid.id)
    assert twice.value.code == "payment_intent_unexpected_state"

    refund = await client.v1.refunds.create_async(
        {"payment_intent": sepa.id, "metadata": {"refund_id": "7"}}, {"idempotency_key": _key()}
    )
    assert (refund.status, refund.amount, refund.payment_intent) == ("succeeded", 125_000, sepa.id)
    assert (await client.v1.refunds.retrieve_async(refund.id)).to_dict() == refund.to_dict()
    with pytest.raises(stripe.InvalidRequestError) as refunded:
        await client.v1.refunds.create_async({"payment_intent": sepa.id})
    assert refunded.value.code == "charge_already_refunded"
    charge = stripe_emulator.events_of("charge.refunded")[-1]["data"]["object"]
    assert (charge["payment_intent"], charge["refunded"], charge["amount_refunded"]) == (
        sepa.id,
        True,
        125_000,
    )


async def test_errors_have_stripes_shape(
    client: stripe.StripeClient, stripe_emulator: StripeEmulator
) -> None:
    with pytest.raises(stripe.InvalidRequestError) as unknown:
        await client.v1.payment_intents.create_async(
            {"amount": 5000, "currency": "eur", "colour": "red"}
        )  # type: ignore[typeddict-unknown-key]
    assert (unknown.value.code, unknown.value.param) == ("parameter_unknown", "colour")
    with pytest.raises(stripe.InvalidRequestError) as missing:
        await client.v1.payment_intents.retrieve_async("pi_doesnotexist")
    assert (missing.value.http_status, missing.value.code) == (404, "resource_missing")
    http = stripe.HTTPXClient()
    wrong_key = stripe.StripeClient("sk_test_wrong", base_addresses={"api": stripe_emulator.base_url},
                                    http_client=http)  # fmt: skip
    with pytest.raises(stripe.AuthenticationError):
        await wrong_key.v1.payment_intents.retrieve_async("pi_x")
    await http.close_async()
    async with httpx.AsyncClient(base_url=stripe_emulator.base_url) as raw:
        response = await raw.post("/v1/payment_intents", data={"amount": "10", "currency": "eur"},
                                  auth=(API_KEY, ""))  # fmt: skip
    assert response.status_code == 400
    assert response.json() == {"error": {
        "type": "invalid_request_error", "code": "amount_too_small", "param": "amount",
        "message": "Amount must be at least 50 cents.",
        "doc_url": "https://stripe.com/docs/error-codes/amount-too-small",
    }}  # fmt: skip


def _receiver(statuses: list[int], received: list[tuple[bytes, str]]) -> httpx.ASGITransport:
    async def endpoint(request: Request) -> Response:
        received.append((await request.body(), request.headers["stripe-signature"]))
        return Response(status_code=statuses.pop(0) if statuses else 200)

    return httpx.ASGITransport(app=Starlette(routes=[Route("/hook", endpoint, methods=["POST"])]))


async def test_webhooks_are_signed_as_stripe_signs_and_retried_until_acknowledged() -> None:
    received: list[tuple[bytes, str]] = []
    emulator = StripeEmulator(api_key=API_KEY, webhook_secret=WEBHOOK_SECRET, webhook_url=None,
                              retry_delays=(0.01, 0.01, 0.01), settle_after=None)  # fmt: skip
    base = await emulator.start()
    emulator.send_webhooks_to("http://receiver/hook", transport=_receiver([500, 503], received))
    http = stripe.HTTPXClient()
    client = stripe.StripeClient(API_KEY, base_addresses={"api": base}, http_client=http)
    try:
        intent = await _intent(client, _key())
        await emulator.drain()
        assert [(d.attempt, d.status) for d in emulator.sender.deliveries] == [
            (1, 500),
            (2, 503),
            (3, 200),
        ]
        for body, signature in received:
            event = stripe.Webhook.construct_event(body, signature, WEBHOOK_SECRET)
            assert (event.type, event.data.object.id) == ("payment_intent.created", intent.id)
        with pytest.raises(stripe.SignatureVerificationError):
            stripe.WebhookSignature.verify_header(
                received[0][0], received[0][1], "whsec_other", 300
            )
        emulator.webhooks_enabled = False
        await client.v1.payment_intents.cancel_async(intent.id)
        await emulator.drain()
        assert len(received) == 3  # switched off: nothing sent
        [canceled] = emulator.events_of("payment_intent.canceled", intent.id)
        assert await emulator.deliver(canceled["id"]) == 200  # on demand, once
        assert json.loads(received[-1][0])["type"] == "payment_intent.canceled"
    finally:
        await http.close_async()
        await emulator.stop()
