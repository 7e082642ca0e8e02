"""Shared fixtures: real PostgreSQL and Redis (embedded unless DATABASE_URL/REDIS_URL
are set), a migrated and seeded database, the app in-process, and a live uvicorn server.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from redis import Redis as SyncRedis
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from core.app import create_app
from core.db import create_engine
from core.embedded import embedded_servers
from core.migrate import upgrade_to_head_async
from core.redis import create_redis
from core.settings import Environment, Settings

# The payment fixtures (Stripe emulator, an app on it, the worker) live in their own module.
pytest_plugins = ("tests.stripe_fixtures",)

# A feed test's large run must not train and serve a valuation model for the tests after
# it, in this process or in the servers and workers the suite starts (they inherit this);
# the valuation job tests set their own threshold.
os.environ.setdefault("VALUATION_RETRAIN_AFTER_FEED_ROWS", "1000000000")

ROOT = Path(__file__).resolve().parent.parent
# The catalog every API test reads: small enough to seed in a second, wide enough to
# cover every country, fuel and status.
SEED_DEALERS = 40
SEED_VEHICLES = 800


@dataclass(frozen=True)
class Servers:
    database_url: str
    redis_url: str
    embedded: bool


def _dsn(database_url: str) -> str:
    return database_url.replace("postgresql+asyncpg://", "postgresql://", 1)


@pytest.fixture(scope="session")
def servers() -> Iterator[Servers]:
    database_url = os.environ.get("DATABASE_URL") or None
    redis_url = os.environ.get("REDIS_URL") or None
    if database_url and redis_url:
        yield Servers(database_url, redis_url, embedded=False)
        return
    # Not under pytest's basetemp: pytest keeps that 0700, and when run as root the
    # embedded PostgreSQL runs as its own user, which must be able to reach its data.
    data_dir = Path(tempfile.mkdtemp(prefix="autobroker-test-"))
    data_dir.chmod(0o755)
    try:
        with embedded_servers(
            data_dir, postgres=database_url is None, redis=redis_url is None
        ) as urls:
            yield Servers(
                database_url or urls.database_url or "",
                redis_url or urls.redis_url or "",
                embedded=True,
            )
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def settings(servers: Servers) -> Settings:
    return Settings(
        environment=Environment.TEST,
        database_url=servers.database_url,
        redis_url=servers.redis_url,
        log_json=True,
        # The whole suite calls from one address: a budget no test run exhausts; the
        # rate-limit tests set their own small one.
        rate_limit_anonymous=(10_000_000, 1_000_000),
        # Feed tests' large runs would train and serve a valuation model for every later
        # test; the valuation job tests set their own threshold.
        valuation_retrain_after_feed_rows=1_000_000_000,
        _env_file=None,
    )


async def _reset_database(dsn: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
    finally:
        await conn.close()


@pytest.fixture(scope="session")
async def database(servers: Servers) -> str:
    """A freshly migrated, seeded database; returns its SQLAlchemy URL."""
    from services.vehicles.seed import seed_catalog

    await _reset_database(_dsn(servers.database_url))
    await upgrade_to_head_async(servers.database_url)
    conn = await asyncpg.connect(_dsn(servers.database_url))
    try:
        await seed_catalog(conn, dealers=SEED_DEALERS, vehicles=SEED_VEHICLES, seed=7)
        await conn.execute("ANALYZE")
    finally:
        await conn.close()
    SyncRedis.from_url(servers.redis_url).flushdb()
    return servers.database_url


@pytest.fixture(scope="session")
async def engine(settings: Settings, database: str) -> AsyncIterator[AsyncEngine]:
    """An engine on the test database, for calling services directly."""
    engine = create_engine(settings, database_url=database)
    yield engine
    await engine.dispose()


@pytest.fixture(scope="session")
async def redis(settings: Settings) -> AsyncIterator[Redis]:
    """A Redis client on the test Redis."""
    assert settings.redis_url is not None
    client = create_redis(settings.redis_url)
    yield client
    await client.aclose()


@pytest.fixture
async def db_conn(database: str) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(_dsn(database))
    try:
        yield conn
    finally:
        await conn.close()


@pytest.fixture(scope="session")
async def app(settings: Settings, database: str) -> AsyncIterator[Any]:
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def client(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_uvicorn(
    servers: Servers, log_path: Path, *, extra_env: dict[str, str] | None = None
) -> tuple[subprocess.Popen[bytes], str]:
    """A real uvicorn process serving the app on a free port; waits until it is live."""
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": servers.database_url,
        "REDIS_URL": servers.redis_url,
        "ENVIRONMENT": "test",
        "RATE_LIMIT_ANONYMOUS": "[10000000, 1000000]",
        **(extra_env or {}),
    }
    log_file = log_path.open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "core.app:create_app", "--factory",
         "--host", "127.0.0.1", "--port", str(port), "--no-access-log"],
        cwd=ROOT, env=env, stdout=log_file, stderr=subprocess.STDOUT,
    )  # fmt: skip
    log_file.close()
    base_url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"uvicorn exited: {log_path.read_text()[-2000:]}")
        try:
            if httpx.get(f"{base_url}/health/live", timeout=1).status_code == 200:
                return process, base_url
        except httpx.TransportError:
            time.sleep(0.1)
    process.kill()
    process.wait()
    raise RuntimeError("uvicorn did not start within 30 s")


def stop_process(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then SIGKILL if it has not exited within 10 s."""
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextmanager
def running_uvicorn(
    servers: Servers, log_path: Path, *, extra_env: dict[str, str] | None = None
) -> Iterator[str]:
    """`start_uvicorn` for the length of a block: its base URL, stopped at the end."""
    process, base_url = start_uvicorn(servers, log_path, extra_env=extra_env)
    try:
        yield base_url
    finally:
        stop_process(process)


@pytest.fixture(scope="session")
def live_server(
    servers: Servers, database: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    with running_uvicorn(servers, tmp_path_factory.mktemp("uvicorn") / "server.log") as url:
        yield url


async def graphql(
    client: httpx.AsyncClient, query: str, variables: dict[str, Any] | None = None, **headers: str
) -> dict[str, Any]:
    """POST a GraphQL operation; the decoded body without the cost report every response has.

    The cost report's shape is checked here (tests/api/test_protection.py checks its
    figures), so that tests can compare the rest of the body whole.
    """
    response = await client.post(
        "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
    )
    assert response.headers["content-type"].startswith("application/"), response.text
    body: dict[str, Any] = response.json()
    extensions = body.pop("extensions", None)
    if extensions is not None:
        assert set(extensions) == {"cost"}, extensions
        assert isinstance(extensions["cost"]["requestedQueryCost"], int)
    return body
