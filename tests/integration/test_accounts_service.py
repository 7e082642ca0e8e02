"""Account use-cases on real PostgreSQL and Redis: sessions and their rotation under
concurrency, throttling under concurrency, password rehashing, API keys, demo accounts."""

from __future__ import annotations

import asyncio

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from auth.tokens import refresh_token_hash
from core.settings import Settings
from models.account import UserRole
from services.accounts import demo, partners, sessions, throttle, users
from services.accounts.errors import (
    InvalidCredentialsError,
    InvalidRefreshTokenError,
    LoginThrottledError,
    RegistrationRefusedError,
)
from services.accounts.sessions import AccountPolicy
from services.errors import FieldProblem, InvalidArgumentError
from tests.accounts_data import PASSWORD, create_user, unique_email


@pytest.fixture
async def policy(settings: Settings, redis: Redis) -> AccountPolicy:
    keys = [key async for key in redis.scan_iter(match="throttle:*")]
    if keys:
        await redis.delete(*keys)
    return AccountPolicy.from_settings(settings)


async def test_register_then_login_then_refresh(
    engine: AsyncEngine, redis: Redis, policy: AccountPolicy
) -> None:
    email = unique_email("svc")
    registered = await users.register(
        engine, redis, policy, email=email, password=PASSWORD, client="192.0.2.1"
    )
    assert registered.user.email == email
    assert registered.user.role is UserRole.BUYER
    assert policy.codec.verify(registered.access_token).user_id == registered.user.id
    with pytest.raises(RegistrationRefusedError) as taken:
        await users.register(engine, redis, policy, email=email, password=PASSWORD, client="x")
    assert taken.value.problems == [
        FieldProblem("email", "EMAIL_TAKEN", "An account with this e-mail exists.")
    ]
    signed_in = await users.login(
        engine, redis, policy, email=email.upper(), password=PASSWORD, client="192.0.2.1"
    )
    rotated = await sessions.refresh_session(engine, policy, signed_in.refresh_token)
    assert rotated.user == signed_in.user
    assert rotated.refresh_token != signed_in.refresh_token


async def test_concurrent_refreshes_with_one_token_give_one_session_and_revoke_the_family(
    engine: AsyncEngine, redis: Redis, policy: AccountPolicy, settings: Settings
) -> None:
    user = await create_user(engine, settings, UserRole.BUYER)
    session = await users.login(
        engine, redis, policy, email=user.email, password=PASSWORD, client="192.0.2.2"
    )
    results = await asyncio.gather(
        *(sessions.refresh_session(engine, policy, session.refresh_token) for _ in range(4)),
        return_exceptions=True,
    )
    winners = [r for r in results if isinstance(r, sessions.Session)]
    refused = [r for r in results if isinstance(r, InvalidRefreshTokenError)]
    assert len(winners) == 1
    assert len(refused) == 3
    assert any("already used" in error.message for error in refused)
    # The replay revoked the family: the winner's new token is dead too.
    with pytest.raises(InvalidRefreshTokenError, match="revoked"):
        await sessions.refresh_session(engine, policy, winners[0].refresh_token)
    async with engine.connect() as conn:
        live = await conn.scalar(
            sa.text(
                "SELECT count(*) FROM refresh_token WHERE revoked_at IS NULL AND family_id ="
                " (SELECT family_id FROM refresh_token WHERE token_hash = :h)"
            ),
            {"h": refresh_token_hash(session.refresh_token)},
        )
    assert live == 0


async def test_an_expired_refresh_token_is_refused(
    engine: AsyncEngine, redis: Redis, policy: AccountPolicy, settings: Settings
) -> None:
    user = await create_user(engine, settings, UserRole.BUYER)
    session = await users.login(
        engine, redis, policy, email=user.email, password=PASSWORD, client="192.0.2.3"
    )
    async with engine.begin() as conn:
        await conn.execute(
            sa.text("UPDATE refresh_token SET expires_at = now() - interval '1 s' "
                    "WHERE user_id = :u"), {"u": user.id},
        )  # fmt: skip
    with pytest.raises(InvalidRefreshTokenError, match="expired"):
        await sessions.refresh_session(engine, policy, session.refresh_token)


async def test_concurrent_wrong_passwords_spend_the_account_budget_exactly(
    engine: AsyncEngine, redis: Redis, policy: AccountPolicy, settings: Settings
) -> None:
    user = await create_user(engine, settings, UserRole.BUYER)
    attempts = policy.throttle.per_account + 5
    results = await asyncio.gather(
        *(users.login(engine, redis, policy, email=user.email, password="wrong-password!",
                      client=f"198.51.100.{i}") for i in range(attempts)),
        return_exceptions=True,
    )  # fmt: skip
    assert sum(isinstance(r, InvalidCredentialsError) for r in results) == (
        policy.throttle.per_account
    )
    throttled = [r for r in results if isinstance(r, LoginThrottledError)]
    assert len(throttled) == 5
    assert all(0 < r.retry_after <= policy.throttle.window_seconds for r in throttled)
    assert 0 < await redis.ttl(throttle.account_key(user.email)) <= policy.throttle.window_seconds


async def test_a_login_rehashes_a_password_hashed_with_old_parameters(
    engine: AsyncEngine, redis: Redis, policy: AccountPolicy, settings: Settings
) -> None:
    user = await create_user(engine, settings, UserRole.BUYER)
    old = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(PASSWORD)
    async with engine.begin() as conn:
        await conn.execute(
            sa.text("UPDATE app_user SET password_hash = :h WHERE id = :u"),
            {"h": old, "u": user.id},
        )
    await users.login(engine, redis, policy, email=user.email, password=PASSWORD, client="x")
    async with engine.connect() as conn:
        stored = await conn.scalar(
            sa.text("SELECT password_hash FROM app_user WHERE id = :u"), {"u": user.id}
        )
    assert stored.startswith("$argon2id$v=19$m=19456,t=2,p=1$")


async def test_api_keys_are_found_by_prefix_until_revoked(engine: AsyncEngine) -> None:
    created = await partners.create_api_key(engine, "  leasing-company  ")
    assert created.partner_name == "leasing-company"
    again = await partners.create_api_key(engine, "leasing-company")
    assert again.partner_id == created.partner_id
    assert again.prefix != created.prefix
    found = await partners.find_live_api_key(engine, created.prefix)
    assert found is not None
    assert found.partner_id == created.partner_id
    async with engine.connect() as conn:
        stored = await conn.scalar(
            sa.text("SELECT key_hash FROM api_key WHERE prefix = :p"), {"p": created.prefix}
        )
    assert created.key not in stored
    assert await partners.revoke_api_key(engine, created.prefix) is True
    assert await partners.find_live_api_key(engine, created.prefix) is None
    assert await partners.find_live_api_key(engine, again.prefix) is not None
    with pytest.raises(InvalidArgumentError):
        await partners.create_api_key(engine, "   ")


async def test_demo_accounts_are_idempotent_sign_in_and_are_detected(
    engine: AsyncEngine, redis: Redis, policy: AccountPolicy
) -> None:
    first = await demo.ensure_demo_accounts(engine)
    second = await demo.ensure_demo_accounts(engine)
    assert first == second
    assert [email for email, _ in first.accounts] == [
        "buyer@example.com", "dealer@example.com", "admin@example.com"
    ]  # fmt: skip
    assert await demo.demo_credentials_present(engine) is True
    for email, role in first.accounts:
        session = await users.login(
            engine, redis, policy, email=email, password="demo-password", client="127.0.0.1"
        )
        assert session.user.role is role
        assert (session.user.dealer_id is not None) == (role is UserRole.DEALER)
    key = await partners.find_live_api_key(engine, demo.DEMO_API_KEY_PREFIX)
    assert key is not None

    assert await demo.remove_demo_credentials(engine) == 4
    assert await demo.demo_credentials_present(engine) is False
