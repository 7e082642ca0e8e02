"""Payments over GraphQL and the Stripe webhook endpoint: the buy flow, verified and
deduplicated webhooks, refunds, and who may do and see what."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from core.app import create_app
from core.settings import Environment, Settings
from core.stripe_emulator import StripeEmulator
from core.stripe_emulator.webhooks import sign
from models.account import UserRole
from tests.accounts_data import TestUser, create_user, create_vehicle
from tests.api.conftest import Cast
from tests.conftest import graphql
from tests.stripe_fixtures import WEBHOOK_SECRET, intents_of, order_state, run_jobs

CREATE = """mutation($input: CreateOrderInput!) { createOrder(input: $input) {
  order { id status } userErrors { code } } }"""
PAYMENT = "payment { id attempt status amount { amount currency } failureMessage clientSecret }"
CHECKOUT = f"""mutation($input: CheckoutInput!) {{ checkout(input: $input) {{
  {PAYMENT} order {{ status }} userErrors {{ field code message }} }} }}"""
CONFIRM = f"""mutation($input: ConfirmTestPaymentInput!) {{ confirmTestPayment(input: $input) {{
  {PAYMENT} order {{ status vehicle {{ status }} }} userErrors {{ field code message }} }} }}"""
REFUND = """mutation($input: RefundOrderInput!) { refundOrder(input: $input) {
  refund { id status amount { amount } reason requestedBy payment { status } }
  order { status } userErrors { field code message } } }"""
ORDER_PAYMENTS = """query($id: ID!) { order(id: $id) { status
  payments { attempt status clientSecret refunds { status } } } }"""
NODE = "query($id: ID!) { node(id: $id) { id ... on Payment { status order { id } } } }"


def gid(type_name: str, pk: int) -> str:
    return base64.urlsafe_b64encode(f"{type_name}:{pk}".encode()).rstrip(b"=").decode()


def pk(global_id: str) -> int:
    return int(base64.urlsafe_b64decode(global_id + "==").decode().split(":")[1])


async def _reserved(
    client: httpx.AsyncClient, engine: AsyncEngine, redis: Redis, cast: Cast, buyer: TestUser
) -> str:
    vehicle = await create_vehicle(engine, redis, cast.dealer_ids[0])
    body = await graphql(client, CREATE, {"input": {"vehicleId": gid("Vehicle", vehicle["id"]),
                                                    "destinationCountry": "DE", "reserve": True}},
                         **buyer.headers)  # fmt: skip
    assert body["data"]["createOrder"]["order"]["status"] == "RESERVED", body
    return str(body["data"]["createOrder"]["order"]["id"])


async def _checkout(client: httpx.AsyncClient, order_id: str, user: TestUser) -> dict[str, Any]:
    body = await graphql(client, CHECKOUT, {"input": {"orderId": order_id}}, **user.headers)
    assert "errors" not in body, body
    payload: dict[str, Any] = body["data"]["checkout"]
    return payload


async def _total(engine: AsyncEngine, order_id: str) -> str:
    async with engine.connect() as conn:
        minor = await conn.scalar(
            sa.text("SELECT total_minor FROM orders WHERE id = :id"), {"id": pk(order_id)}
        )
    return f"{minor / 100:.2f}"


async def test_the_whole_buy_flow_from_graphiql(
    pay_client: httpx.AsyncClient, engine: AsyncEngine, redis: Redis, cast: Cast, webhooks: StripeEmulator,
    payment_settings: Settings,
) -> None:  # fmt: skip
    order_id = await _reserved(pay_client, engine, redis, cast, cast.buyer)
    checked_out = await _checkout(pay_client, order_id, cast.buyer)
    [intent] = intents_of(webhooks, pk(order_id))
    payment_id = checked_out["payment"]["id"]
    assert checked_out == {
        "payment": {"id": payment_id, "attempt": 1, "status": "PENDING",
                    "amount": {"amount": await _total(engine, order_id), "currency": "EUR"},
                    "failureMessage": None, "clientSecret": intent["client_secret"]},
        "order": {"status": "PAYMENT_PENDING"}, "userErrors": [],
    }  # fmt: skip
    assert await _checkout(pay_client, order_id, cast.buyer) == checked_out  # a retry: the same
    paid = await graphql(pay_client, CONFIRM, {"input": {"paymentId": payment_id, "paymentMethod": "pm_card_visa"}},
                         **cast.buyer.headers)  # fmt: skip
    assert paid["data"]["confirmTestPayment"] == {
        "payment": checked_out["payment"] | {"status": "SUCCEEDED", "clientSecret": None},
        "order": {"status": "PAID", "vehicle": {"status": "SOLD"}}, "userErrors": [],
    }  # fmt: skip
    await webhooks.drain()  # Stripe's webhooks arrive too, and change nothing
    await run_jobs(payment_settings)
    state = await order_state(engine, pk(order_id))
    assert [to for to, _ in state["events"]] == [
        "DRAFT",
        "QUOTED",
        "RESERVED",
        "PAYMENT_PENDING",
        "PAID",
    ]
    assert len(intents_of(webhooks, pk(order_id))) == 1


async def _signed_post(
    client: httpx.AsyncClient, body: bytes, signature: str | None
) -> httpx.Response:
    headers = {"content-type": "application/json"}
    if signature is not None:
        headers["stripe-signature"] = signature
    return await client.post("/webhooks/stripe", content=body, headers=headers)


async def _pending_with_success_event(
    client: httpx.AsyncClient,
    engine: AsyncEngine,
    redis: Redis,
    cast: Cast,
    emulator: StripeEmulator,
) -> tuple[int, str]:
    order_id = await _reserved(client, engine, redis, cast, cast.buyer)
    await _checkout(client, order_id, cast.buyer)
    [intent] = intents_of(emulator, pk(order_id))
    emulator.state.confirm(intent["id"], {"payment_method": "pm_card_visa"})  # Stripe.js's part
    [event] = emulator.events_of("payment_intent.succeeded", intent["id"])
    return pk(order_id), str(event["id"])


async def _counts(engine: AsyncEngine, order_id: int) -> tuple[int, int]:
    async with engine.connect() as conn:
        row = (await conn.execute(sa.text(
            "SELECT (SELECT count(*) FROM stripe_event),"
            " (SELECT count(*) FROM order_event WHERE order_id = :id)"), {"id": order_id})).one()  # fmt: skip
    return int(row[0]), int(row[1])


async def test_one_event_delivered_ten_times_in_a_row_and_ten_at_once_changes_the_order_once(
    pay_client: httpx.AsyncClient, engine: AsyncEngine, redis: Redis, cast: Cast, no_webhooks: StripeEmulator,
    payment_settings: Settings,
) -> None:  # fmt: skip
    order_id, event_id = await _pending_with_success_event(
        pay_client, engine, redis, cast, no_webhooks
    )
    stored_before, events_before = await _counts(engine, order_id)
    body, signature = no_webhooks.signed(event_id)
    in_a_row = [await _signed_post(pay_client, body, signature) for _ in range(10)]
    at_once = await asyncio.gather(*(_signed_post(pay_client, body, signature) for _ in range(10)))
    responses = [*in_a_row, *at_once]
    assert [r.status_code for r in responses] == [200] * 20
    assert in_a_row[0].json() == {"received": True, "duplicate": False}
    assert [r.json() for r in responses[1:]] == [{"received": True, "duplicate": True}] * 19
    await run_jobs(payment_settings)
    for _ in range(3):  # and later again, after it was applied
        assert (await _signed_post(pay_client, body, signature)).json()["duplicate"] is True
    await run_jobs(payment_settings)
    assert await _counts(engine, order_id) == (stored_before + 1, events_before + 1)
    state = await order_state(engine, order_id)
    assert (state["status"], state["events"][-1]) == ("PAID", ("PAID", "payments"))
    async with engine.connect() as conn:
        stored = (await conn.execute(sa.text("SELECT type, applied_at IS NOT NULL, outcome FROM stripe_event WHERE id = :id"),
                                     {"id": event_id})).one()  # fmt: skip
    assert tuple(stored) == ("payment_intent.succeeded", True, "payment succeeded; order PAID")


async def test_bad_missing_or_stale_signatures_are_refused_and_write_nothing(
    pay_client: httpx.AsyncClient, engine: AsyncEngine, redis: Redis, cast: Cast, no_webhooks: StripeEmulator,
) -> None:  # fmt: skip
    order_id, event_id = await _pending_with_success_event(
        pay_client, engine, redis, cast, no_webhooks
    )
    before = await _counts(engine, order_id)
    body, signature = no_webhooks.signed(event_id)
    tampered = body.replace(b'"payment_intent.succeeded"', b'"payment_intent.canceled"')
    _, wrong_secret = no_webhooks.signed(event_id, secret="whsec_not_ours")
    _, stale = no_webhooks.signed(event_id, timestamp=int(time.time()) - 301)
    _, ahead = no_webhooks.signed(event_id, timestamp=int(time.time()) + 301)
    _, far_ahead = no_webhooks.signed(event_id, timestamp=int(time.time()) + 10**9)
    cases = {
        "tampered body": (tampered, signature),
        "wrong secret": (body, wrong_secret),
        "301 seconds old": (body, stale),
        "301 seconds ahead": (body, ahead),
        "thirty years ahead": (body, far_ahead),
        "missing header": (body, None),
        "garbage header": (body, "t=abc,v1=def"),
        "not an event": (b'{"object": "list"}', sign(b'{"object": "list"}', WEBHOOK_SECRET)),
    }
    for name, (payload, header) in cases.items():
        response = await _signed_post(pay_client, payload, header)
        assert response.status_code == 400, name
        assert set(response.json()) == {"error"}, name
    assert await _counts(engine, order_id) == before
    assert (await order_state(engine, order_id))["status"] == "PAYMENT_PENDING"
    slightly_ahead = sign(body, WEBHOOK_SECRET, timestamp=int(time.time()) + 60)
    assert (await _signed_post(pay_client, body, slightly_ahead)).status_code == 200
    just_in_time = sign(body, WEBHOOK_SECRET, timestamp=int(time.time()) - 290)
    assert (await _signed_post(pay_client, body, just_in_time)).status_code == 200


async def test_a_declined_card_fails_the_payment_and_a_new_checkout_is_attempt_two(
    pay_client: httpx.AsyncClient, engine: AsyncEngine, redis: Redis, cast: Cast, no_webhooks: StripeEmulator,
) -> None:  # fmt: skip
    order_id = await _reserved(pay_client, engine, redis, cast, cast.buyer)
    first = (await _checkout(pay_client, order_id, cast.buyer))["payment"]
    declined = await graphql(pay_client, CONFIRM, {"input": {"paymentId": first["id"],
                                                             "paymentMethod": "pm_card_chargeDeclined"}},
                             **cast.buyer.headers)  # fmt: skip
    payload = declined["data"]["confirmTestPayment"]
    assert payload["userErrors"] == [{"field": ["input", "paymentMethod"], "code": "PAYMENT_DECLINED",
                                      "message": "Your card was declined."}]  # fmt: skip
    assert (payload["payment"]["status"], payload["payment"]["failureMessage"]) == (
        "FAILED",
        "Your card was declined.",
    )
    assert payload["payment"]["clientSecret"] is not None  # the buyer may try another card
    assert payload["order"]["status"] == "PAYMENT_FAILED"
    second = await _checkout(pay_client, order_id, cast.buyer)
    assert (second["payment"]["attempt"], second["payment"]["status"], second["order"]) == (
        2, "PENDING", {"status": "PAYMENT_PENDING"})  # fmt: skip
    listed = await graphql(pay_client, ORDER_PAYMENTS, {"id": order_id}, **cast.buyer.headers)
    assert [(p["attempt"], p["status"]) for p in listed["data"]["order"]["payments"]] == [
        (1, "CANCELED"),
        (2, "PENDING"),
    ]
    assert (
        listed["data"]["order"]["payments"][1]["clientSecret"] == second["payment"]["clientSecret"]
    )


async def test_staff_refund_settles_on_stripes_event_and_frees_the_vehicle(
    pay_client: httpx.AsyncClient, engine: AsyncEngine, redis: Redis, cast: Cast, webhooks: StripeEmulator,
    payment_settings: Settings,
) -> None:  # fmt: skip
    order_id = await _reserved(pay_client, engine, redis, cast, cast.buyer)
    payment = (await _checkout(pay_client, order_id, cast.buyer))["payment"]
    await graphql(
        pay_client, CONFIRM, {"input": {"paymentId": payment["id"]}}, **cast.buyer.headers
    )
    refused = await graphql(
        pay_client, REFUND, {"input": {"orderId": order_id, "reason": "x"}}, **cast.buyer.headers
    )
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    blank = await graphql(
        pay_client, REFUND, {"input": {"orderId": order_id, "reason": "  "}}, **cast.admin.headers
    )
    assert blank["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "field": "reason"}
    webhooks.webhooks_enabled = False  # settle below, by hand
    started = await graphql(pay_client, REFUND, {"input": {"orderId": order_id, "reason": "buyer withdrew"}},
                            **cast.admin.headers)  # fmt: skip
    refund = started["data"]["refundOrder"]["refund"]
    assert started["data"]["refundOrder"] == {
        "refund": {"id": refund["id"], "status": "PENDING", "amount": {"amount": payment["amount"]["amount"]},
                   "reason": "buyer withdrew", "requestedBy": f"admin:{cast.admin.id}", "payment": {"status": "SUCCEEDED"}},
        "order": {"status": "PAID"}, "userErrors": [],
    }  # fmt: skip
    again = await graphql(pay_client, REFUND, {"input": {"orderId": order_id, "reason": "buyer withdrew"}},
                          **cast.admin.headers)  # fmt: skip
    assert again["data"]["refundOrder"]["refund"]["id"] == refund["id"]
    for event in webhooks.events_of("charge.refunded"):
        if event["data"]["object"]["metadata"].get("order_id") == str(pk(order_id)):
            assert await webhooks.deliver(event["id"]) == 200
    await run_jobs(payment_settings)
    settled = await graphql(pay_client, ORDER_PAYMENTS, {"id": order_id}, **cast.buyer.headers)
    assert settled["data"]["order"] == {"status": "REFUNDED", "payments": [
        {"attempt": 1, "status": "REFUNDED", "clientSecret": None, "refunds": [{"status": "SUCCEEDED"}]}]}  # fmt: skip
    assert (await order_state(engine, pk(order_id)))["vehicle"] == "AVAILABLE"
    late = await graphql(
        pay_client,
        REFUND,
        {"input": {"orderId": order_id, "reason": "again"}},
        **cast.admin.headers,
    )
    assert late["data"]["refundOrder"]["userErrors"][0]["code"] == "NOT_REFUNDABLE"


async def test_who_may_pay_refund_and_see_payments(
    pay_client: httpx.AsyncClient, engine: AsyncEngine, redis: Redis, settings: Settings, cast: Cast,
    no_webhooks: StripeEmulator,
) -> None:  # fmt: skip
    other = await create_user(engine, settings, UserRole.BUYER)
    order_id = await _reserved(pay_client, engine, redis, cast, cast.buyer)
    theirs = await graphql(pay_client, CHECKOUT, {"input": {"orderId": order_id}}, **other.headers)
    assert theirs["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    for who in (cast.admin.headers, cast.dealer.headers):  # staff do not buy, dealers neither
        refused = await graphql(pay_client, CHECKOUT, {"input": {"orderId": order_id}}, **who)
        assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    anonymous = await graphql(pay_client, CHECKOUT, {"input": {"orderId": order_id}})
    assert anonymous["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    payment = (await _checkout(pay_client, order_id, cast.buyer))["payment"]
    own = await graphql(pay_client, NODE, {"id": payment["id"]}, **cast.buyer.headers)
    assert own["data"]["node"] == {
        "id": payment["id"],
        "status": "PENDING",
        "order": {"id": order_id},
    }
    foreign = await graphql(pay_client, NODE, {"id": payment["id"]}, **other.headers)
    assert foreign["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    stolen = await graphql(
        pay_client, CONFIRM, {"input": {"paymentId": payment["id"]}}, **other.headers
    )
    assert stolen["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    staff = await graphql(pay_client, ORDER_PAYMENTS, {"id": order_id}, **cast.admin.headers)
    assert staff["data"]["order"]["payments"] == [
        {"attempt": 1, "status": "PENDING", "clientSecret": None, "refunds": []}]  # only the buyer's  # fmt: skip
    mine = await graphql(pay_client, ORDER_PAYMENTS, {"id": order_id}, **cast.buyer.headers)
    assert mine["data"]["order"]["payments"][0]["clientSecret"] == payment["clientSecret"]


async def test_refusals_unknown_orders_and_wrong_states(
    pay_client: httpx.AsyncClient, engine: AsyncEngine, redis: Redis, cast: Cast, no_webhooks: StripeEmulator,
) -> None:  # fmt: skip
    missing = await graphql(
        pay_client, CHECKOUT, {"input": {"orderId": gid("Order", 987654321)}}, **cast.buyer.headers
    )
    assert missing["errors"][0]["extensions"] == {"code": "NOT_FOUND", "field": "orderId"}
    vehicle = await create_vehicle(engine, redis, cast.dealer_ids[0])
    quoted = await graphql(pay_client, CREATE, {"input": {"vehicleId": gid("Vehicle", vehicle["id"]),
                                                          "destinationCountry": "DE"}}, **cast.buyer.headers)  # fmt: skip
    quoted_id = quoted["data"]["createOrder"]["order"]["id"]
    early = await graphql(
        pay_client, CHECKOUT, {"input": {"orderId": quoted_id}}, **cast.buyer.headers
    )
    assert early["data"]["checkout"] == {"payment": None, "order": None, "userErrors": [
        {"field": ["input", "orderId"], "code": "TRANSITION_NOT_ALLOWED", "message": "CHECKOUT is not allowed from QUOTED"}]}  # fmt: skip
    unpaid = await graphql(
        pay_client,
        REFUND,
        {"input": {"orderId": quoted_id, "reason": "why not"}},
        **cast.admin.headers,
    )
    assert unpaid["data"]["refundOrder"]["userErrors"] == [{"field": ["input", "orderId"], "code": "NOT_REFUNDABLE",
        "message": "the order is QUOTED: only a paid order not yet completed is refunded"}]  # fmt: skip
    lapsed_id = await _reserved(pay_client, engine, redis, cast, cast.buyer)
    async with engine.begin() as conn:
        await conn.execute(sa.text("UPDATE orders SET reserved_until = now() - interval '1 second' WHERE id = :id"),
                           {"id": pk(lapsed_id)})  # fmt: skip
    lapsed = await graphql(
        pay_client, CHECKOUT, {"input": {"orderId": lapsed_id}}, **cast.buyer.headers
    )
    assert lapsed["data"]["checkout"]["userErrors"][0]["code"] == "RESERVATION_EXPIRED"
    wrong_type = await graphql(
        pay_client, CONFIRM, {"input": {"paymentId": quoted_id}}, **cast.buyer.headers
    )
    assert wrong_type["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


@pytest.fixture
async def production_client(payment_settings: Settings) -> Any:
    production = payment_settings.model_copy(update={"environment": Environment.PRODUCTION})
    application = create_app(production)
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            yield c


async def test_test_payments_are_refused_in_production(
    production_client: httpx.AsyncClient, pay_client: httpx.AsyncClient, engine: AsyncEngine, redis: Redis, cast: Cast,
    no_webhooks: StripeEmulator,
) -> None:  # fmt: skip
    order_id = await _reserved(pay_client, engine, redis, cast, cast.buyer)
    payment = (await _checkout(pay_client, order_id, cast.buyer))["payment"]
    body = await graphql(
        production_client, CONFIRM, {"input": {"paymentId": payment["id"]}}, **cast.buyer.headers
    )
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert json.dumps(body).count("development") == 1
    assert (await order_state(engine, pk(order_id)))["status"] == "PAYMENT_PENDING"
