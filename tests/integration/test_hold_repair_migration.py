"""Migration 0008 repairs what earlier seeds left: RESERVED vehicles no order holds become
AVAILABLE, SOLD vehicles no order paid for become WITHDRAWN; the rest is untouched."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest
from alembic import command
from sqlalchemy.engine import make_url

from core.db import create_engine
from core.migrate import alembic_config
from core.settings import Settings
from services.vehicles.holds import hold_violations
from services.vehicles.seed import seed_catalog
from tests.conftest import Servers


@pytest.fixture
async def scratch_database(servers: Servers) -> AsyncIterator[str]:
    """A database of its own on the test server, dropped afterwards."""
    url = make_url(servers.database_url)
    name = f"hold_repair_{uuid.uuid4().hex[:10]}"
    admin_dsn = url.set(drivername="postgresql", database="postgres").render_as_string(False)
    admin = await asyncpg.connect(admin_dsn)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield url.set(database=name).render_as_string(hide_password=False)
        await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
    finally:
        await admin.close()


async def test_0008_repairs_vehicles_held_or_sold_without_an_order(
    scratch_database: str, settings: Settings
) -> None:
    config = alembic_config(scratch_database)
    await asyncio.to_thread(command.upgrade, config, "0007")
    dsn = make_url(scratch_database).set(drivername="postgresql").render_as_string(False)
    conn = await asyncpg.connect(dsn)
    try:
        await seed_catalog(conn, dealers=2, vehicles=12, seed=3)
        ids = [row["id"] for row in await conn.fetch("SELECT id FROM vehicle ORDER BY id")]
        # What the old seed wrote: statuses no order stands behind.
        await conn.execute("UPDATE vehicle SET status = 'RESERVED' WHERE id = ANY($1)", ids[:3])
        await conn.execute("UPDATE vehicle SET status = 'SOLD' WHERE id = ANY($1)", ids[3:5])
        await conn.execute("UPDATE vehicle SET status = 'WITHDRAWN' WHERE id = $1", ids[5])
        before = dict(
            await conn.fetch("SELECT id, status FROM vehicle WHERE id = ANY($1)", ids[6:])
        )
        await asyncio.to_thread(command.upgrade, config, "head")
        after = dict(await conn.fetch("SELECT id, status FROM vehicle ORDER BY id"))
    finally:
        await conn.close()
    assert [after[i] for i in ids[:6]] == ["AVAILABLE"] * 3 + ["WITHDRAWN"] * 3
    assert {i: after[i] for i in ids[6:]} == before
    engine = create_engine(settings, database_url=scratch_database)
    try:
        async with engine.connect() as sa_conn:
            assert await hold_violations(sa_conn) == []
    finally:
        await engine.dispose()
