"""Idempotency records: an answer holding credentials is never kept (a replayed key must
not hand out tokens), and records past their retention are swept."""

from __future__ import annotations

import uuid
from datetime import timedelta

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from core.idempotency import sweep_expired
from core.settings import Settings
from jobs.retention import retention_cron_jobs
from jobs.worker import FUNCTIONS
from models.account import UserRole
from tests.accounts_data import PASSWORD, create_user, unique_email
from tests.api.test_auth import LOGIN, REFRESH, REGISTER

pytestmark = pytest.mark.usefixtures("fresh_throttle")


async def _records(engine: AsyncEngine, key: str) -> list[sa.Row[tuple[object, ...]]]:
    async with engine.connect() as conn:
        result = await conn.execute(
            sa.text("SELECT identity, response FROM idempotency_record WHERE key = :k"),
            {"k": key},
        )
        return list(result)


async def _twice(client: httpx.AsyncClient, body: dict[str, object]) -> list[httpx.Response]:
    key = str(uuid.uuid4())
    responses = [
        await client.post("/graphql", json=body, headers={"Idempotency-Key": key}) for _ in range(2)
    ]
    responses.append(httpx.Response(200, text=key))  # the key, for the caller's checks
    return responses


async def test_a_login_with_a_key_stores_no_tokens_and_a_retry_signs_in_afresh(
    client: httpx.AsyncClient, engine: AsyncEngine, settings: Settings
) -> None:
    user = await create_user(engine, settings, UserRole.BUYER)
    login = {"query": LOGIN, "variables": {"input": {"email": user.email, "password": PASSWORD}}}
    first, again, key = await _twice(client, login)
    tokens = [r.json()["data"]["login"] for r in (first, again)]
    assert all(t["accessToken"] and t["refreshToken"] for t in tokens)
    assert tokens[0]["refreshToken"] != tokens[1]["refreshToken"]  # a new sign-in, no replay
    assert "idempotent-replayed" not in again.headers
    assert await _records(engine, key.text) == []


async def test_register_and_refresh_with_a_key_store_no_tokens(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    register = {
        "query": REGISTER,
        "variables": {"input": {"email": unique_email(), "password": PASSWORD}},
    }
    key = str(uuid.uuid4())
    signed_up = await client.post("/graphql", json=register, headers={"Idempotency-Key": key})
    refresh_token = signed_up.json()["data"]["register"]["refreshToken"]
    assert refresh_token
    assert await _records(engine, key) == []
    refresh = {"query": REFRESH, "variables": {"input": {"refreshToken": refresh_token}}}
    first, again, refresh_key = await _twice(client, refresh)
    rotated = first.json()["data"]["refreshToken"]
    assert rotated["refreshToken"]
    # The retry ran again: spending the same refresh token twice is reuse, refused.
    assert again.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    for _, response in await _records(engine, refresh_key.text):
        assert rotated["refreshToken"].encode() not in response
        assert rotated["accessToken"].encode() not in response


async def test_records_past_their_retention_are_swept(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    identities = [f"test-sweep:{uuid.uuid4().hex}" for _ in range(3)]
    async with engine.begin() as conn:
        for age_hours, identity in zip((30, 25, 1), identities, strict=True):
            await conn.execute(
                sa.text(
                    "INSERT INTO idempotency_record (identity, key, fingerprint, created_at) "
                    "VALUES (:i, 'k', repeat('0', 64), now() - make_interval(hours => :h))"
                ),
                {"i": identity, "h": age_hours},
            )
    swept = await sweep_expired(engine, timedelta(hours=24))
    assert swept >= 2
    async with engine.connect() as conn:
        left = await conn.scalars(
            sa.text("SELECT identity FROM idempotency_record WHERE identity = ANY(:ids)"),
            {"ids": identities},
        )
        assert list(left) == [identities[2]]


def test_the_worker_sweeps_records_every_hour() -> None:
    jobs = retention_cron_jobs(Settings(_env_file=None))  # type: ignore[call-arg]
    [job] = [job for job in jobs if job.name == "cron:sweep_idempotency_records"]
    assert job.minute == 23
    assert job.hour is None
    assert job.unique
    assert any(f.name == "sweep_idempotency_records" for f in FUNCTIONS)
