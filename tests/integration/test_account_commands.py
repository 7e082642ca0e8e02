"""The account commands as an operator runs them: create-api-key, revoke-api-key, and
`serve` refusing the development demo credentials."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys

from core.db import create_engine
from core.settings import Settings
from services.accounts import demo, partners
from tests.conftest import ROOT, Servers


def _cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "core.cli", *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def _env(servers: Servers, **extra: str) -> dict[str, str]:
    return {**os.environ, "DATABASE_URL": servers.database_url, "LOG_LEVEL": "WARNING", **extra}


async def _live_key(settings: Settings, database: str, prefix: str) -> partners.LiveApiKey | None:
    engine = create_engine(settings, database_url=database)
    try:
        return await partners.find_live_api_key(engine, prefix)
    finally:
        await engine.dispose()


async def test_create_api_key_prints_the_key_once_and_revoke_api_key_ends_it(
    servers: Servers, database: str, settings: Settings
) -> None:
    created = await asyncio.to_thread(
        _cli, "create-api-key", "--partner", "price-comparison", env=_env(servers)
    )
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip()
    assert key.startswith("ab_live_")
    prefix = key.split("_")[2]
    assert f"prefix {prefix}" in created.stderr
    assert "not shown again" in created.stderr
    stored = await _live_key(settings, database, prefix)
    assert stored is not None
    assert key not in stored.key_hash

    revoked = await asyncio.to_thread(_cli, "revoke-api-key", prefix, env=_env(servers))
    assert revoked.returncode == 0, revoked.stderr
    assert await _live_key(settings, database, prefix) is None
    again = await asyncio.to_thread(_cli, "revoke-api-key", prefix, env=_env(servers))
    assert again.returncode == 1
    assert [line for line in again.stderr.splitlines() if line] == [
        f"autobroker: no live API key with prefix {prefix!r}"
    ]


async def test_create_api_key_needs_a_partner_name(servers: Servers, database: str) -> None:
    result = await asyncio.to_thread(_cli, "create-api-key", "--partner", " ", env=_env(servers))
    assert result.returncode == 1
    assert "--partner" in result.stderr
    assert result.stdout == ""


async def test_serve_refuses_to_start_while_demo_credentials_are_present(
    servers: Servers, database: str, settings: Settings
) -> None:
    engine = create_engine(settings, database_url=database)
    try:
        await demo.ensure_demo_accounts(engine)
    finally:
        await engine.dispose()
    env = _env(servers, ENVIRONMENT="production", REDIS_URL=servers.redis_url,
               JWT_SECRET="a-production-secret-that-is-long-enough-0123456789",
               STRIPE_SECRET_KEY="sk_live_placeholder", STRIPE_WEBHOOK_SECRET="whsec_placeholder",
               S3_URL="http://127.0.0.1:9", S3_ACCESS_KEY_ID="k", S3_SECRET_ACCESS_KEY="s",
               FIELD_ENCRYPTION_KEYS='["bBbsfDH1RLtbgvl6LZ7TtMKTo77cBW7hYVz-Aa7vrQ4="]',
               PERSONAL_DATA_KEY="a-production-personal-data-key-long-enough-9876543")  # fmt: skip
    # Should the check ever let it through, serve fails fast on a port already taken.
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        result = await asyncio.to_thread(_cli, "serve", "--host", "127.0.0.1", "--port", port,
                                         env=env)  # fmt: skip
    assert result.returncode == 1
    lines = [line for line in result.stderr.splitlines() if line]
    assert len(lines) == 1
    assert lines[0].startswith("autobroker: refusing to start: the database holds the development")
    assert "remove-demo-accounts" in lines[0]
