"""Every audited action writes exactly its entry (and an unaudited one none), with who,
about whom, from where, and never a password or an unknown e-mail in clear; staff read
the log as a connection filtered by actor, action, subject and time."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import sqlalchemy as sa
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from core.settings import Settings
from models.account import UserRole
from services.accounts.documents import register_manifest
from services.accounts.partners import create_api_key, revoke_api_key
from services.crypto import keyed_hash
from tests.accounts_data import PASSWORD, create_user, unique_email
from tests.api.conftest import Cast
from tests.api.test_auth import LOGIN, LOGOUT, REFRESH, REGISTER
from tests.api.test_orders import ADVANCE, CANCEL
from tests.api.test_payments import CONFIRM, REFUND, _checkout, _reserved
from tests.conftest import graphql
from tests.stripe_fixtures import StripeEmulator

AGENT = {"User-Agent": "audit-test/1.0"}
CHANGE_PASSWORD = """mutation($input: ChangePasswordInput!) { changePassword(input: $input) {
  changed userErrors { field code } } }"""
SET_ROLE = """mutation($input: SetUserRoleInput!) { setUserRole(input: $input) {
  changed userErrors { field code } } }"""
UPDATE_DEALER = """mutation($input: UpdateDealerInput!) { updateDealer(input: $input) {
  dealer { id } userErrors { code } } }"""
AUDIT_LOG = """query($filter: AuditLogFilter, $first: Int, $after: String) {
  auditLog(filter: $filter, first: $first, after: $after) { totalCount
    pageInfo { hasNextPage endCursor }
    edges { node { id action actorKind actorId subjectType subjectId subjectUserId
                   clientAddress userAgent details at } } } }"""


def gid(type_name: str, key: int) -> str:
    import base64

    return base64.urlsafe_b64encode(f"{type_name}:{key}".encode()).rstrip(b"=").decode()


async def _mark(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int(await conn.scalar(sa.text("SELECT coalesce(max(id), 0) FROM audit_entry")))


async def _since(engine: AsyncEngine, mark: int) -> list[dict[str, Any]]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            sa.text("SELECT * FROM audit_entry WHERE id > :mark ORDER BY id"), {"mark": mark}
        )
        return [dict(row) for row in rows.mappings()]


def _short(entry: dict[str, Any]) -> tuple[Any, ...]:
    return (entry["action"], entry["actor_kind"], entry["actor_id"], entry["subject_type"],
            entry["subject_id"], entry["subject_user_id"])  # fmt: skip


async def test_sign_in_actions_each_write_exactly_their_entry(
    client: httpx.AsyncClient, engine: AsyncEngine, settings: Settings
) -> None:
    email = unique_email("audited")
    mark = await _mark(engine)
    registered = await graphql(client, REGISTER, {"input": {"email": email, "password": PASSWORD}}, **AGENT)  # fmt: skip
    assert registered["data"]["register"]["accessToken"], registered
    [entry] = await _since(engine, mark)
    async with engine.connect() as conn:
        uid = int(await conn.scalar(sa.text("SELECT id FROM app_user WHERE email = :e"), {"e": email}))  # fmt: skip
    assert _short(entry) == ("account.registered", "USER", uid, "User", str(uid), uid)
    assert entry["user_agent"] == "audit-test/1.0"
    assert entry["client_address"] == "127.0.0.1"

    mark = await _mark(engine)
    signed_in = await graphql(client, LOGIN, {"input": {"email": email, "password": PASSWORD}}, **AGENT)  # fmt: skip
    [entry] = await _since(engine, mark)
    assert _short(entry) == ("auth.sign_in", "USER", uid, "User", str(uid), uid)
    assert set(entry["details"]) == {"session"}

    mark = await _mark(engine)
    wrong = "not the password at all 42"
    await graphql(client, LOGIN, {"input": {"email": email, "password": wrong}}, **AGENT)
    [entry] = await _since(engine, mark)
    assert _short(entry) == ("auth.sign_in_failed", "ANONYMOUS", None, "User", str(uid), uid)
    assert (entry["client_address"], entry["user_agent"]) == ("127.0.0.1", "audit-test/1.0")
    assert wrong not in str(entry)

    mark = await _mark(engine)
    stranger = unique_email("nobody")
    await graphql(client, LOGIN, {"input": {"email": stranger, "password": wrong}}, **AGENT)
    [entry] = await _since(engine, mark)
    assert _short(entry) == ("auth.sign_in_failed", "ANONYMOUS", None, None, None, None)
    assert entry["details"] == {
        "reason": "unknown e-mail",
        "email_hmac": keyed_hash(settings.personal_data_key, stranger, purpose="email"),
    }
    assert stranger not in str(entry)

    tokens = signed_in["data"]["login"]
    mark = await _mark(engine)
    rotated = await graphql(client, REFRESH, {"input": {"refreshToken": tokens["refreshToken"]}})
    assert rotated["data"]["refreshToken"]["accessToken"]
    assert await _since(engine, mark) == []  # a rotation is routine, not audited
    reused = await graphql(client, REFRESH, {"input": {"refreshToken": tokens["refreshToken"]}})
    assert reused["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    [entry] = await _since(engine, mark)
    assert _short(entry) == ("auth.refresh_token_reused", "ANONYMOUS", None, "User", str(uid), uid)
    assert entry["details"]["tokens_revoked"] == 2  # the spent token and its successor

    other = await graphql(client, LOGIN, {"input": {"email": email, "password": PASSWORD}})
    mark = await _mark(engine)
    await graphql(client, LOGOUT, {"input": {"refreshToken": other["data"]["login"]["refreshToken"]}})  # fmt: skip
    [entry] = await _since(engine, mark)
    assert _short(entry) == ("auth.sign_out", "USER", uid, "User", str(uid), uid)


async def test_account_changes_by_the_person_and_by_staff_are_audited(
    client: httpx.AsyncClient, engine: AsyncEngine, settings: Settings, cast: Cast
) -> None:
    user = await create_user(engine, settings, UserRole.BUYER)
    mark = await _mark(engine)
    refused = await graphql(client, CHANGE_PASSWORD, {"input": {"currentPassword": "wrong one x", "newPassword": "a much better passphrase"}}, **user.headers)  # fmt: skip
    assert refused["data"]["changePassword"]["userErrors"] == [
        {"field": ["input", "currentPassword"], "code": "PASSWORD_INCORRECT"}
    ]
    assert await _since(engine, mark) == []
    changed = await graphql(client, CHANGE_PASSWORD, {"input": {"currentPassword": PASSWORD, "newPassword": "a much better passphrase"}}, **user.headers)  # fmt: skip
    assert changed["data"]["changePassword"] == {"changed": True, "userErrors": []}
    [entry] = await _since(engine, mark)
    assert _short(entry) == ("account.password_changed", "USER", user.id, "User", str(user.id), user.id)  # fmt: skip

    mark = await _mark(engine)
    forbidden = await graphql(client, SET_ROLE, {"input": {"userId": gid("User", user.id), "role": "ADMIN"}}, **user.headers)  # fmt: skip
    assert forbidden["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    role = {"userId": gid("User", user.id), "role": "DEALER", "dealerId": gid("Dealer", cast.dealer_ids[0])}  # fmt: skip
    made = await graphql(client, SET_ROLE, {"input": role}, **cast.admin.headers)
    assert made["data"]["setUserRole"] == {"changed": True, "userErrors": []}
    [entry] = await _since(engine, mark)
    assert _short(entry) == ("account.role_changed", "USER", cast.admin.id, "User", str(user.id), user.id)  # fmt: skip
    assert entry["details"] == {"from": "BUYER", "to": "DEALER", "dealer": cast.dealer_ids[0]}

    async with engine.connect() as conn:
        name = await conn.scalar(sa.text("SELECT name FROM dealer WHERE id = :id"), {"id": cast.dealer_ids[1]})  # fmt: skip
    mark = await _mark(engine)
    edited = await graphql(client, UPDATE_DEALER, {"input": {"id": gid("Dealer", cast.dealer_ids[1]), "name": name}}, **cast.admin.headers)  # fmt: skip
    assert edited["data"]["updateDealer"]["userErrors"] == [], edited
    [entry] = await _since(engine, mark)
    assert _short(entry) == ("dealer.updated", "USER", cast.admin.id, "Dealer", str(cast.dealer_ids[1]), None)  # fmt: skip
    assert entry["details"] == {"fields": ["name"]}


async def test_keys_and_trusted_documents_are_audited(engine: AsyncEngine) -> None:
    partner = f"audit-partner-{uuid.uuid4().hex[:8]}"
    mark = await _mark(engine)
    created = await create_api_key(engine, partner)
    assert await revoke_api_key(engine, created.prefix)
    assert not await revoke_api_key(engine, created.prefix)  # nothing to revoke: no entry
    manifest = {"format": "apollo-persisted-query-manifest", "version": 1, "operations": [
        {"id": "one", "name": "One", "type": "query", "body": "query One { me { id } }"}]}  # fmt: skip
    await register_manifest(engine, created.partner_id, manifest)
    pid = str(created.partner_id)
    assert [_short(e) for e in await _since(engine, mark)] == [
        ("api_key.created", "SYSTEM", None, "Partner", pid, None),
        ("api_key.revoked", "SYSTEM", None, "Partner", pid, None),
        ("trusted_documents.registered", "SYSTEM", None, "Partner", pid, None),
    ]


async def test_staff_order_moves_and_refunds_are_audited_and_buyers_moves_are_not(
    pay_client: httpx.AsyncClient, engine: AsyncEngine, redis: Redis, cast: Cast,
    payment_settings: Settings, webhooks: StripeEmulator,
) -> None:  # fmt: skip
    buyer = await create_user(engine, payment_settings, UserRole.BUYER)
    cancelled = await _reserved(pay_client, engine, redis, cast, buyer)
    mark = await _mark(engine)
    await graphql(pay_client, CANCEL, {"input": {"orderId": cancelled}}, **buyer.headers)
    assert await _since(engine, mark) == []

    order_id = await _reserved(pay_client, engine, redis, cast, buyer)
    payment = (await _checkout(pay_client, order_id, buyer))["payment"]
    await graphql(pay_client, CONFIRM, {"input": {"paymentId": payment["id"]}}, **buyer.headers)
    key = int(__import__("base64").urlsafe_b64decode(order_id + "==").decode().split(":")[1])
    mark = await _mark(engine)
    await graphql(pay_client, ADVANCE, {"input": {"orderId": order_id, "step": "PREPARE"}}, **cast.admin.headers)  # fmt: skip
    started = await graphql(pay_client, REFUND, {"input": {"orderId": order_id, "reason": "changed mind"}}, **cast.admin.headers)  # fmt: skip
    refund_pk = started["data"]["refundOrder"]["refund"]["id"]
    entries = await _since(engine, mark)
    assert [_short(e) for e in entries] == [
        ("order.transitioned", "USER", cast.admin.id, "Order", str(key), buyer.id),
        ("payment.refund_requested", "USER", cast.admin.id, "Order", str(key), buyer.id),
    ]
    assert entries[0]["details"] == {"from": "PAID", "to": "PREPARING", "event": "PREPARE", "sequence": 6}  # fmt: skip
    assert entries[1]["details"]["amount_minor"] == int(payment["amount"]["amount"].replace(".", ""))  # fmt: skip
    assert refund_pk


async def test_staff_page_through_the_log_by_subject_action_and_time(
    client: httpx.AsyncClient, engine: AsyncEngine, settings: Settings, cast: Cast
) -> None:
    user = await create_user(engine, settings, UserRole.BUYER)
    for n in range(3):
        new = f"another fine passphrase {n}"
        old = PASSWORD if n == 0 else f"another fine passphrase {n - 1}"
        body = await graphql(client, CHANGE_PASSWORD, {"input": {"currentPassword": old, "newPassword": new}}, **user.headers)  # fmt: skip
        assert body["data"]["changePassword"]["changed"], body
    flt = {"subjectUserId": gid("User", user.id), "action": "account.password_changed",
           "since": (datetime.now(UTC) - timedelta(minutes=5)).isoformat()}  # fmt: skip
    first = await graphql(client, AUDIT_LOG, {"filter": flt, "first": 2}, **cast.admin.headers)
    log = first["data"]["auditLog"]
    assert log["totalCount"] == 3
    assert log["pageInfo"]["hasNextPage"] is True
    ids = [int(e["node"]["id"]) for e in log["edges"]]
    assert ids == sorted(ids, reverse=True)  # newest first
    node = log["edges"][0]["node"]
    assert (node["actorKind"], node["actorId"], node["subjectUserId"]) == ("USER", gid("User", user.id), gid("User", user.id))  # fmt: skip
    rest = await graphql(client, AUDIT_LOG, {"filter": flt, "first": 2, "after": log["pageInfo"]["endCursor"]},
                         **cast.admin.headers)  # fmt: skip
    more = rest["data"]["auditLog"]
    assert [int(e["node"]["id"]) for e in more["edges"]] < ids
    assert len(more["edges"]) == 1
    assert more["pageInfo"]["hasNextPage"] is False
    by_actor = await graphql(client, AUDIT_LOG, {"filter": {"actorId": gid("User", user.id)}}, **cast.admin.headers)  # fmt: skip
    assert by_actor["data"]["auditLog"]["totalCount"] == 3
    future = {**flt, "since": (datetime.now(UTC) + timedelta(hours=1)).isoformat()}
    none = await graphql(client, AUDIT_LOG, {"filter": future}, **cast.admin.headers)
    assert none["data"]["auditLog"]["totalCount"] == 0
    refused = await graphql(client, AUDIT_LOG, {"filter": flt}, **user.headers)
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    bad = await graphql(client, AUDIT_LOG, {"after": "nonsense"}, **cast.admin.headers)
    assert bad["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
