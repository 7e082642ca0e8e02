"""GDPR rights over GraphQL on real PostgreSQL: a buyer's export holds every fact seeded
about them and nothing about anyone else, through a signed, time-limited link; erasure is
refused while an order is in flight, then leaves no trace of the person's e-mail, name or
phone in any text column while the order and its payment still add up."""

from __future__ import annotations

import random
import uuid
from typing import Any

import httpx
import sqlalchemy as sa
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from core.settings import Settings
from models.account import UserRole
from tests.accounts_data import PASSWORD, TestUser, create_user
from tests.api.conftest import Cast
from tests.api.test_auth import LOGIN
from tests.api.test_orders import ADVANCE
from tests.api.test_payments import CONFIRM, _checkout, _reserved, pk
from tests.conftest import graphql
from tests.stripe_fixtures import StripeEmulator, run_jobs

UPDATE_PROFILE = """mutation($input: UpdateProfileInput!) { updateProfile(input: $input) {
  profile { fullName phone address } userErrors { field code message } } }"""
MY_PROFILE = "{ myProfile { fullName phone address } }"
REQUEST_EXPORT = """mutation($input: RequestDataExportInput!) { requestDataExport(input: $input) {
  dataExport { id status downloadUrl } userErrors { field code message } } }"""
EXPORT = "query($id: ID!) { dataExport(id: $id) { id status expiresAt downloadUrl } }"
ERASE = """mutation($input: RequestAccountErasureInput!) { requestAccountErasure(input: $input) {
  erased sessionsRevoked ordersKept userErrors { field code message } } }"""
ME = "{ me { id } }"


def _person() -> dict[str, str]:
    tag = uuid.uuid4().hex[:8]
    return {
        "fullName": f"Zofia Kowalczyk-{tag}",
        "phone": f"+48 601 {random.randint(100, 999)} {random.randint(100, 999)}",
        "address": f"ul. Długa {random.randint(1, 99)}, 00-{tag[:3]} Warszawa",
    }


async def _buyer_with_profile(
    client: httpx.AsyncClient, engine: AsyncEngine, settings: Settings
) -> tuple[TestUser, dict[str, str]]:
    buyer = await create_user(engine, settings, UserRole.BUYER)
    person = _person()
    body = await graphql(client, UPDATE_PROFILE, {"input": person}, **buyer.headers)
    assert body["data"]["updateProfile"] == {"profile": person, "userErrors": []}, body
    return buyer, person


async def _paid_order(
    client: httpx.AsyncClient, engine: AsyncEngine, redis: Redis, cast: Cast, buyer: TestUser
) -> str:
    order_id = await _reserved(client, engine, redis, cast, buyer)
    payment = (await _checkout(client, order_id, buyer))["payment"]
    confirmed = await graphql(client, CONFIRM, {"input": {"paymentId": payment["id"]}},
                              **buyer.headers)  # fmt: skip
    assert confirmed["data"]["confirmTestPayment"]["order"]["status"] == "PAID", confirmed
    return order_id


async def _complete(client: httpx.AsyncClient, cast: Cast, order_id: str) -> None:
    for step in ("PREPARE", "SHIP", "DELIVER", "COMPLETE"):
        body = await graphql(client, ADVANCE, {"input": {"orderId": order_id, "step": step}},
                             **cast.admin.headers)  # fmt: skip
        assert body["data"]["advanceOrder"]["userErrors"] == [], body


async def _export(
    client: httpx.AsyncClient, settings: Settings, user: TestUser, *, of: TestUser | None = None
) -> dict[str, Any]:
    given = {"userId": f"{_gid('User', of.id)}"} if of is not None else {}
    body = await graphql(client, REQUEST_EXPORT, {"input": given}, **user.headers)
    started = body["data"]["requestDataExport"]
    assert started["dataExport"]["status"] == "PENDING", body
    await run_jobs(settings)
    ready = await graphql(client, EXPORT, {"id": started["dataExport"]["id"]}, **user.headers)
    found: dict[str, Any] = ready["data"]["dataExport"]
    assert found["status"] == "READY", ready
    return found


def _gid(type_name: str, key: int) -> str:
    import base64

    return base64.urlsafe_b64encode(f"{type_name}:{key}".encode()).rstrip(b"=").decode()


async def test_an_export_holds_every_fact_about_the_buyer_and_nothing_about_anyone_else(
    pay_client: httpx.AsyncClient, engine: AsyncEngine, redis: Redis, cast: Cast,
    payment_settings: Settings, webhooks: StripeEmulator,
) -> None:  # fmt: skip
    buyer, person = await _buyer_with_profile(pay_client, engine, payment_settings)
    other, other_person = await _buyer_with_profile(pay_client, engine, payment_settings)
    order_id = await _paid_order(pay_client, engine, redis, cast, buyer)
    other_order = await _reserved(pay_client, engine, redis, cast, other)
    await graphql(pay_client, LOGIN, {"input": {"email": buyer.email, "password": PASSWORD}})

    found = await _export(pay_client, payment_settings, buyer)
    url = httpx.URL(found["downloadUrl"])
    response = await pay_client.get(url.raw_path.decode())
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    document = response.json()
    text = response.text
    sections = document["sections"]
    assert sections["account"] == {
        "id": buyer.id, "email": buyer.email, "role": "BUYER", "dealerId": None,
        "createdAt": sections["account"]["createdAt"], **person,
    }  # fmt: skip
    assert [o["id"] for o in sections["orders"]] == [pk(order_id)]
    order = sections["orders"][0]
    assert order["status"] == "PAID"
    assert [e["to_status"] for e in order["events"]] == ["DRAFT", "QUOTED", "RESERVED",
                                                         "PAYMENT_PENDING", "PAID"]  # fmt: skip
    assert [q["id"] for q in sections["quotes"]] == [order["quote_id"]]
    assert sum(line["amount_minor"] + line["vat_minor"] for line in sections["quotes"][0]["lines"]) == order["total_minor"]  # fmt: skip
    [payment] = sections["payments"]["payments"]
    assert (payment["order_id"], payment["status"], payment["amount_minor"]) == (
        order["id"], "SUCCEEDED", order["total_minor"])  # fmt: skip
    assert len(sections["sessions"]) == 2  # the test's sign-in and the login above
    assert all("token_hash" not in s for s in sections["sessions"])
    actions = [entry["action"] for entry in sections["auditEntries"]]
    assert {"account.profile_updated", "auth.sign_in", "gdpr.export_requested"} <= set(actions)
    # Nothing of the other buyer.
    for foreign in (other.email, *other_person.values()):
        assert foreign not in text
    assert all(o["buyer_id"] == buyer.id for o in sections["orders"])
    assert pk(other_order) not in {p["order_id"] for p in sections["payments"]["payments"]}
    assert ("User", str(other.id)) not in {
        (e["subject_type"], e["subject_id"]) for e in sections["auditEntries"]
    }

    # The link is the credential: tampered or expired links are refused, others see nothing.
    forged = str(url.copy_merge_params({"signature": "0" * 64}))
    assert (await pay_client.get(httpx.URL(forged).raw_path.decode())).status_code == 403
    stale = url.copy_merge_params({"expires": "1000"})
    assert (await pay_client.get(stale.raw_path.decode())).status_code == 403
    hidden = await graphql(pay_client, EXPORT, {"id": found["id"]}, **other.headers)
    assert hidden["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    # Staff can export for a buyer, and only staff.
    refused = await graphql(pay_client, REQUEST_EXPORT, {"input": {"userId": _gid("User", buyer.id)}},
                            **other.headers)  # fmt: skip
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    by_staff = await _export(pay_client, payment_settings, cast.admin, of=buyer)
    assert by_staff["downloadUrl"] != found["downloadUrl"]


async def _text_columns(engine: AsyncEngine) -> list[tuple[str, str]]:
    async with engine.connect() as conn:
        rows = await conn.execute(sa.text(
            "SELECT c.table_name, c.column_name FROM information_schema.columns c"
            " JOIN information_schema.tables t USING (table_schema, table_name)"
            " WHERE c.table_schema = 'public' AND t.table_type = 'BASE TABLE'"
            " AND c.data_type IN ('text', 'character varying', 'character', 'json', 'jsonb')"
        ))  # fmt: skip
        return [(row.table_name, row.column_name) for row in rows]


async def _holders(engine: AsyncEngine, needles: list[str]) -> list[tuple[str, str, str]]:
    """Every (table, column, needle) where a text column still holds a needle."""
    found = []
    async with engine.connect() as conn:
        for table, column in await _text_columns(engine):
            for needle in needles:
                hit = await conn.scalar(
                    sa.text(f'SELECT 1 FROM "{table}" WHERE "{column}"::text ILIKE :n LIMIT 1'),
                    {"n": f"%{needle}%"},
                )
                if hit:
                    found.append((table, column, needle))
    return found


async def test_erasure_waits_for_the_order_then_leaves_no_trace_of_the_person(
    pay_client: httpx.AsyncClient, engine: AsyncEngine, redis: Redis, cast: Cast,
    payment_settings: Settings, webhooks: StripeEmulator,
) -> None:  # fmt: skip
    buyer, person = await _buyer_with_profile(pay_client, engine, payment_settings)
    order_id = await _paid_order(pay_client, engine, redis, cast, buyer)
    signed_in = await graphql(pay_client, LOGIN, {"input": {"email": buyer.email, "password": PASSWORD}})  # fmt: skip
    assert signed_in["data"]["login"]["accessToken"]
    await _export(pay_client, payment_settings, buyer)
    needles = [buyer.email, person["fullName"], person["phone"]]
    assert await _holders(engine, needles)  # the scan does find them while they are held

    unconfirmed = await graphql(pay_client, ERASE, {"input": {}}, **buyer.headers)
    assert unconfirmed["data"]["requestAccountErasure"]["userErrors"] == [{
        "field": ["input", "password"], "code": "PASSWORD_INCORRECT",
        "message": "The password is wrong."}]  # fmt: skip
    refused = await graphql(pay_client, ERASE, {"input": {"password": PASSWORD}}, **buyer.headers)
    assert refused["data"]["requestAccountErasure"]["erased"] is False
    [error] = refused["data"]["requestAccountErasure"]["userErrors"]
    assert (error["field"], error["code"]) == (["input", "userId"], "ORDER_IN_FLIGHT")
    assert (await graphql(pay_client, ME, **buyer.headers))["data"]["me"] is not None

    await _complete(pay_client, cast, order_id)
    erased = await graphql(pay_client, ERASE, {"input": {"userId": _gid("User", buyer.id)}},
                           **cast.admin.headers)  # fmt: skip
    assert erased["data"]["requestAccountErasure"] == {
        "erased": True, "sessionsRevoked": 2, "ordersKept": 1, "userErrors": []}  # fmt: skip

    assert await _holders(engine, needles) == []
    # The accounting record stands: the order, its quote and its payment add up.
    async with engine.connect() as conn:
        kept = (await conn.execute(sa.text(
            "SELECT o.status, o.buyer_id, o.total_minor, q.total_minor AS quoted,"
            " (SELECT sum(amount_minor) FROM payment p WHERE p.order_id = o.id"
            "  AND p.status = 'SUCCEEDED') AS paid"
            " FROM orders o JOIN quote q ON q.id = o.quote_id WHERE o.id = :id"
        ), {"id": pk(order_id)})).one()  # fmt: skip
        actions = list((await conn.execute(sa.text(
            "SELECT action FROM audit_entry WHERE subject_user_id = :id ORDER BY id"
        ), {"id": buyer.id})).scalars())  # fmt: skip
    assert (kept.status, kept.buyer_id) == ("COMPLETED", buyer.id)
    assert kept.total_minor == kept.quoted == kept.paid
    assert actions[-2:] == ["order.transitioned", "gdpr.account_erased"]
    assert "gdpr.erasure_refused" in actions
    # Every session is gone, and the old credentials open nothing.
    gone = await graphql(pay_client, ME, **buyer.headers)
    assert gone["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    again = await graphql(pay_client, LOGIN, {"input": {"email": buyer.email, "password": PASSWORD}})  # fmt: skip
    assert again["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    twice = await graphql(pay_client, ERASE, {"input": {"userId": _gid("User", buyer.id)}},
                          **cast.admin.headers)  # fmt: skip
    assert twice["data"]["requestAccountErasure"]["userErrors"][0]["code"] == "ACCOUNT_ERASED"
