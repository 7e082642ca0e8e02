"""Personal data at rest and its retention on real PostgreSQL: fields stored as Fernet
tokens, a key rotated with `autobroker audit reencrypt`, and the retention sweeps of
sessions, quotes and exports each removing only what is past its time."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet
from pydantic import SecretStr
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from core.settings import Settings
from models.account import UserRole
from services.accounts.profile import read_profile, reencrypt_all, update_profile
from services.audit.log import AuditActor
from services.crypto import FieldCipher, UndecryptableFieldError
from services.gdpr.exports import build_export, mark_failed, request_export, sweep_exports
from services.retention import sweep_quotes, sweep_sessions
from tests.accounts_data import create_user
from tests.conftest import ROOT
from tests.stripe_fixtures import reserved_order


async def _stored(engine: AsyncEngine, user_id: int) -> str:
    async with engine.connect() as conn:
        token = await conn.scalar(
            sa.text("SELECT phone_enc FROM app_user WHERE id = :id"), {"id": user_id}
        )
    assert isinstance(token, str)
    return token


async def test_fields_are_encrypted_and_a_rotated_key_reencrypts_them(
    engine: AsyncEngine, settings: Settings, database: str
) -> None:
    user = await create_user(engine, settings, UserRole.BUYER)
    old_key, new_key = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    old = FieldCipher([old_key])
    await update_profile(engine, old, user.id, {"phone": "+49 30 1234567", "fullName": "Jan Nowak"},
                         actor=AuditActor.user(user.id))  # fmt: skip
    token = await _stored(engine, user.id)
    assert "1234567" not in token
    assert Fernet(old_key.encode()).decrypt(token.encode()) == b"+49 30 1234567"

    # New key first, old kept: old tokens still open, new writes use the new key.
    rotating = FieldCipher([new_key, old_key])
    async with engine.connect() as conn:
        assert (await read_profile(conn, rotating, user.id)).phone == "+49 30 1234567"  # type: ignore[union-attr]
    # The suite's own key stays in the list: other tests' rows are re-encrypted too.
    suite_key = settings.field_encryption_keys[0].get_secret_value()
    env = {**os.environ, "DATABASE_URL": database,
           "FIELD_ENCRYPTION_KEYS": f'["{new_key}", "{old_key}", "{suite_key}"]'}  # fmt: skip
    done = await asyncio.to_thread(
        subprocess.run, [sys.executable, "-m", "core.cli", "audit", "reencrypt"], cwd=ROOT,
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "re-encrypted the personal data of" in done.stdout
    rotated = await _stored(engine, user.id)
    assert Fernet(new_key.encode()).decrypt(rotated.encode()) == b"+49 30 1234567"
    # The old key can be dropped now; a token only it opens would be refused, clearly.
    async with engine.connect() as conn:
        profile = await read_profile(conn, FieldCipher([new_key]), user.id)
        assert profile is not None
        assert (profile.full_name, profile.phone) == ("Jan Nowak", "+49 30 1234567")
        with pytest.raises(UndecryptableFieldError):
            await read_profile(conn, FieldCipher([old_key]), user.id)
    # Rotated back to the suite's key, so later tests read every row again.
    await reencrypt_all(engine, FieldCipher([suite_key, new_key]))
    async with engine.connect() as conn:
        assert await read_profile(conn, FieldCipher([suite_key]), user.id) == profile


async def test_sessions_past_retention_are_swept_and_live_ones_kept(
    engine: AsyncEngine, settings: Settings
) -> None:
    user = await create_user(engine, settings, UserRole.BUYER)
    long_ago = datetime.now(UTC) - timedelta(days=90)
    async with engine.begin() as conn:
        await conn.execute(
            sa.text("INSERT INTO refresh_token (user_id, family_id, token_hash, created_at, expires_at)"
                    " VALUES (:u, :f, :h, :t, :t)"),
            {"u": user.id, "f": uuid.uuid4(), "h": uuid.uuid4().hex * 2, "t": long_ago},
        )  # fmt: skip
    assert await sweep_sessions(engine, timedelta(days=30)) >= 1
    async with engine.connect() as conn:
        left = await conn.scalar(
            sa.text("SELECT count(*) FROM refresh_token WHERE user_id = :u"), {"u": user.id}
        )
    assert left == 1  # the live sign-in create_user made


async def test_expired_quotes_without_an_order_are_swept_and_an_orders_quote_kept(
    engine: AsyncEngine, redis: Redis, settings: Settings
) -> None:
    user = await create_user(engine, settings, UserRole.BUYER)
    order = await reserved_order(engine, redis, user.id)
    async with engine.begin() as conn:
        quote_id = await conn.scalar(sa.text("SELECT quote_id FROM orders WHERE id = :id"), {"id": order.id})  # fmt: skip
        vehicle = await conn.scalar(sa.text("SELECT vehicle_id FROM quote WHERE id = :id"), {"id": quote_id})  # fmt: skip
        # An old quote nobody ordered with: a copy of the order's, dated back.
        stale = await conn.scalar(sa.text(
            "INSERT INTO quote (vehicle_id, destination_country, rules_version, currency,"
            " subtotal_minor, vat_minor, total_minor, vat_scheme, market_position,"
            " comparable_count, valid_until, created_at)"
            " SELECT vehicle_id, destination_country, rules_version, currency, subtotal_minor,"
            " vat_minor, total_minor, vat_scheme, market_position, comparable_count,"
            " now() - interval '60 days', now() - interval '61 days' FROM quote WHERE id = :id"
            " RETURNING id"), {"id": quote_id})  # fmt: skip
        await conn.execute(sa.text("UPDATE quote SET valid_until = now() - interval '60 days',"
                                   " created_at = now() - interval '61 days' WHERE id = :id"),
                           {"id": quote_id})  # fmt: skip
    assert vehicle == order.vehicle_id
    assert await sweep_quotes(engine, timedelta(days=30)) >= 1
    async with engine.connect() as conn:
        left = set((await conn.execute(sa.text("SELECT id FROM quote WHERE id IN (:a, :b)"),
                                       {"a": quote_id, "b": stale})).scalars())  # fmt: skip
    assert left == {quote_id}


async def test_finished_exports_are_removed_once_their_link_expires(
    engine: AsyncEngine, settings: Settings
) -> None:
    user = await create_user(engine, settings, UserRole.BUYER)
    cipher = FieldCipher.from_settings(settings)
    record = await request_export(engine, user.id, actor=AuditActor.user(user.id))
    assert await build_export(engine, cipher, record.id, ttl=timedelta(minutes=5))
    assert not await build_export(engine, cipher, record.id, ttl=timedelta(minutes=5))  # once
    assert await sweep_exports(engine) == 0
    assert await sweep_exports(engine, now=datetime.now(UTC) + timedelta(minutes=6)) >= 1
    async with engine.connect() as conn:
        assert await conn.scalar(sa.text("SELECT count(*) FROM data_export WHERE id = :id"), {"id": record.id}) == 0  # fmt: skip


def test_the_personal_data_keys_are_settings(settings: Settings) -> None:
    assert settings.field_encryption_keys
    key = Fernet.generate_key().decode()
    chosen = Settings(_env_file=None, field_encryption_keys=[SecretStr(key)])  # type: ignore[call-arg]
    assert (
        FieldCipher.from_settings(chosen).decrypt(Fernet(key.encode()).encrypt(b"x").decode())
        == "x"
    )


async def test_an_export_whose_job_gives_up_is_failed_and_audited(
    engine: AsyncEngine, settings: Settings
) -> None:
    user = await create_user(engine, settings, UserRole.BUYER)
    record = await request_export(engine, user.id, actor=AuditActor.user(user.id))
    assert await mark_failed(engine, record.id, "the database went away")
    assert not await mark_failed(engine, record.id, "again")
    assert not await build_export(engine, FieldCipher.from_settings(settings), record.id,
                                  ttl=timedelta(minutes=5))  # fmt: skip
    async with engine.connect() as conn:
        status = await conn.scalar(sa.text("SELECT status FROM data_export WHERE id = :id"), {"id": record.id})  # fmt: skip
        actions = list((await conn.execute(sa.text(
            "SELECT action FROM audit_entry WHERE subject_user_id = :u ORDER BY id"), {"u": user.id})).scalars())  # fmt: skip
    assert status == "FAILED"
    assert actions == ["gdpr.export_requested", "gdpr.export_failed"]
