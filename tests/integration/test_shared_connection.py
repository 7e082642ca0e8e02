"""The operation's shared connection on a real PostgreSQL: statements take turns, close
waits for the one in flight, and a connection left mid-statement is discarded."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from core.db import create_engine
from core.settings import Settings
from core.shared_connection import ConnectionReleased, SharedConnection

SLEEP = sa.text("SELECT pg_sleep(:seconds), pg_backend_pid()")
PID = sa.text("SELECT pg_backend_pid()")
STATE = sa.text("SELECT state FROM pg_stat_activity WHERE pid = :pid")


@pytest.fixture
async def one_connection(settings: Settings, database: str) -> AsyncIterator[AsyncEngine]:
    """An engine whose pool holds one connection, so the next checkout is the same one."""
    engine = create_engine(
        settings.model_copy(update={"db_pool_size": 1, "db_max_overflow": 0}),
        database_url=database,
    )
    yield engine
    await engine.dispose()


async def _open(engine: AsyncEngine) -> SharedConnection:
    conn = SharedConnection(engine)
    await conn.start()
    return conn


async def test_concurrent_statements_take_turns(one_connection: AsyncEngine) -> None:
    conn = await _open(one_connection)
    results = await asyncio.gather(*(conn.execute(SLEEP, {"seconds": 0.05}) for _ in range(4)))
    assert len({result.one()[1] for result in results}) == 1  # one backend, four turns
    await conn.close()
    assert one_connection.pool.checkedout() == 0  # type: ignore[attr-defined]


async def test_close_waits_for_the_statement_in_flight_and_returns_it_clean(
    one_connection: AsyncEngine, engine: AsyncEngine
) -> None:
    conn = await _open(one_connection)
    in_flight = asyncio.create_task(conn.execute(SLEEP, {"seconds": 0.3}))
    await asyncio.sleep(0.05)
    waiting = asyncio.create_task(conn.execute(PID))  # not started before close: refused
    await asyncio.sleep(0)
    await conn.close()
    pid = (await in_flight).one()[1]
    with pytest.raises(ConnectionReleased):
        await waiting
    with pytest.raises(ConnectionReleased):
        await conn.execute(PID)
    assert one_connection.pool.checkedout() == 0  # type: ignore[attr-defined]
    async with engine.connect() as observer:
        assert (await observer.execute(STATE, {"pid": pid})).scalar() == "idle"
    async with one_connection.connect() as again:
        assert (await again.execute(PID)).scalar() == pid  # back in the pool, reused


async def test_a_statement_cancelled_mid_flight_gets_its_connection_discarded(
    one_connection: AsyncEngine,
) -> None:
    conn = await _open(one_connection)
    first_pid = (await conn.execute(PID)).scalar()
    statement = asyncio.create_task(conn.execute(SLEEP, {"seconds": 5}))
    await asyncio.sleep(0.1)
    statement.cancel()
    with pytest.raises(asyncio.CancelledError):
        await statement
    await conn.close()
    assert one_connection.pool.checkedout() == 0  # type: ignore[attr-defined]
    async with one_connection.connect() as fresh:
        assert (await fresh.execute(PID)).scalar() != first_pid
