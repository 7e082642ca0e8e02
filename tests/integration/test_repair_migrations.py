"""Migrations that repair data: 0008 frees what earlier seeds left (RESERVED vehicles no
order holds become AVAILABLE, SOLD vehicles no order paid for become WITHDRAWN; the rest
is untouched), 0009 renumbers sequential quote ids at random, lines following."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest
from alembic import command
from alembic.config import Config
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


async def _seeded_at(
    database: str, revision: str, *, dealers: int, vehicles: int
) -> tuple[Config, asyncpg.Connection]:
    """The database migrated to `revision` and seeded, and a connection to it."""
    config = alembic_config(database)
    await asyncio.to_thread(command.upgrade, config, revision)
    dsn = make_url(database).set(drivername="postgresql").render_as_string(False)
    conn = await asyncpg.connect(dsn)
    await seed_catalog(conn, dealers=dealers, vehicles=vehicles, seed=3)
    return config, conn


async def test_0008_repairs_vehicles_held_or_sold_without_an_order(
    scratch_database: str, settings: Settings
) -> None:
    config, conn = await _seeded_at(scratch_database, "0007", dealers=2, vehicles=12)
    try:
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


QUOTE = """
INSERT INTO quote (vehicle_id, destination_country, rules_version, currency, subtotal_minor,
                   vat_minor, total_minor, vat_scheme, market_position, comparable_count,
                   valid_until)
VALUES ($1, 'DE', 'test', 'EUR', 100, 19, 119, 'MARGIN', 'FAIR', 0, now() + interval '1 hour')
RETURNING id
"""
LINE = """
INSERT INTO quote_line (quote_id, position, kind, label, amount_minor, vat_rate, vat_minor)
VALUES ($1, 1, 'TRANSPORT', 'Transport', 100, 0.19, 19)
"""


async def test_0009_renumbers_quotes_at_random_and_new_ones_are_random(
    scratch_database: str,
) -> None:
    config, conn = await _seeded_at(scratch_database, "0008", dealers=1, vehicles=3)
    try:
        vehicle = await conn.fetchval("SELECT min(id) FROM vehicle")
        old = [await conn.fetchval(QUOTE, vehicle) for _ in range(5)]
        for quote_id in old:
            await conn.execute(LINE, quote_id)
        assert old == list(range(old[0], old[0] + 5))  # a sequence, before
        await asyncio.to_thread(command.upgrade, config, "head")
        renumbered = [row["id"] for row in await conn.fetch("SELECT id FROM quote")]
        lines = [row["quote_id"] for row in await conn.fetch("SELECT quote_id FROM quote_line")]
        new = [await conn.fetchval(QUOTE, vehicle) for _ in range(5)]
        sequences = await conn.fetchval(
            "SELECT count(*) FROM pg_class WHERE relkind = 'S' AND relname = 'quote_id_seq'"
        )
    finally:
        await conn.close()
    assert set(renumbered).isdisjoint(old)
    assert sorted(lines) == sorted(renumbered)
    assert sequences == 0
    for ids in (renumbered, new):
        assert min(abs(a - b) for a in ids for b in ids if a != b) > 1000
        assert all(0 < quote_id < 2**63 for quote_id in ids)
