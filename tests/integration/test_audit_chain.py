"""The audit log on real PostgreSQL: append-only for the superuser the suite connects as
(trigger) and for an ordinary role (trigger and revoked privileges), a chain that never
forks under concurrent inserts, `autobroker audit verify` finding an altered or removed
entry, and the retention purge removing old entries only."""

from __future__ import annotations

import asyncio
import itertools
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from core.db import create_engine
from core.migrate import upgrade_to_head_async
from core.settings import Settings
from services.audit.chain import verify_chain
from services.audit.log import SYSTEM, AuditActor, entry_hash, record, record_now
from services.retention import purge_audit_entries
from tests.conftest import ROOT, Servers, _dsn

AUDIT_DATABASE = "autobroker_audit_test"
APP_ROLE = "autobroker_audit_app"


async def _admin(servers: Servers) -> asyncpg.Connection:
    return await asyncpg.connect(_dsn(servers.database_url))


def _url_for(servers: Servers, database: str, user: str | None = None) -> str:
    url = make_url(servers.database_url).set(database=database)
    if user is not None:
        url = url.set(username=user)
    return url.render_as_string(hide_password=False)


@pytest.fixture
async def audit_db(servers: Servers, settings: Settings) -> AsyncIterator[tuple[str, AsyncEngine]]:
    """A freshly migrated database of its own: these tests alter and purge its log."""
    admin = await _admin(servers)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{AUDIT_DATABASE}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{AUDIT_DATABASE}"')
    finally:
        await admin.close()
    url = _url_for(servers, AUDIT_DATABASE)
    await upgrade_to_head_async(url)
    engine = create_engine(settings, database_url=url)
    try:
        yield url, engine
    finally:
        await engine.dispose()


async def test_the_suites_superuser_connection_cannot_update_delete_or_truncate(
    engine: AsyncEngine,
) -> None:
    entry_id = await record_now(engine, "test.append_only", actor=SYSTEM)
    for statement in (
        "UPDATE audit_entry SET action = 'forged' WHERE id = :id",
        "DELETE FROM audit_entry WHERE id = :id",
        "TRUNCATE audit_entry",
    ):
        with pytest.raises(sa.exc.DBAPIError, match="append-only"):
            async with engine.begin() as conn:
                await conn.execute(sa.text(statement), {"id": entry_id})
    # Even with the purge switch on, an entry younger than 30 days stays.
    async with engine.connect() as conn:
        await conn.execute(sa.text("SET autobroker.audit_purge = 'on'"))
        with pytest.raises(sa.exc.DBAPIError, match="append-only"):
            await conn.execute(sa.text("DELETE FROM audit_entry WHERE id = :id"), {"id": entry_id})
        await conn.rollback()
        await conn.execute(sa.text("RESET autobroker.audit_purge"))
    async with engine.connect() as conn:
        action = await conn.scalar(
            sa.text("SELECT action FROM audit_entry WHERE id = :id"), {"id": entry_id}
        )
    assert action == "test.append_only"


async def test_an_ordinary_application_role_is_refused_by_privilege_and_trigger(
    servers: Servers, settings: Settings
) -> None:
    database = "autobroker_audit_role_test"
    admin = await _admin(servers)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        await admin.execute(f'DROP ROLE IF EXISTS "{APP_ROLE}"')
        await admin.execute(f'CREATE ROLE "{APP_ROLE}" LOGIN NOSUPERUSER')
        await admin.execute(f'CREATE DATABASE "{database}" OWNER "{APP_ROLE}"')
    finally:
        await admin.close()
    url = _url_for(servers, database, APP_ROLE)
    await upgrade_to_head_async(url)  # migrated by the role itself: it owns the table
    engine = create_engine(settings, database_url=url)
    try:
        async with engine.connect() as conn:
            assert await conn.scalar(sa.text("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")) is False  # fmt: skip
        entry_id = await record_now(engine, "test.role", actor=SYSTEM)
        with pytest.raises(sa.exc.DBAPIError, match="permission denied"):
            async with engine.begin() as conn:
                await conn.execute(sa.text("UPDATE audit_entry SET action = 'x' WHERE id = :id"),
                                   {"id": entry_id})  # fmt: skip
        with pytest.raises(sa.exc.DBAPIError, match="permission denied"):
            async with engine.begin() as conn:
                await conn.execute(sa.text("TRUNCATE audit_entry"))
        with pytest.raises(sa.exc.DBAPIError, match="append-only"):
            async with engine.begin() as conn:
                await conn.execute(sa.text("DELETE FROM audit_entry WHERE id = :id"), {"id": entry_id})  # fmt: skip
        assert (await verify_chain(engine)).intact
    finally:
        await engine.dispose()
        admin = await _admin(servers)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
            await admin.execute(f'DROP ROLE IF EXISTS "{APP_ROLE}"')
        finally:
            await admin.close()


async def test_concurrent_inserts_never_fork_the_chain(
    audit_db: tuple[str, AsyncEngine],
) -> None:
    _, engine = audit_db

    async def one(n: int) -> int:
        async with engine.begin() as conn:
            entry = await record(conn, "test.concurrent", actor=AuditActor.user(n))
            await asyncio.sleep(0.01)  # hold the head while others wait
            return entry

    ids = await asyncio.gather(*(one(n) for n in range(1, 21)))
    assert len(set(ids)) == 20
    async with engine.connect() as conn:
        rows = (await conn.execute(sa.text("SELECT prev_hash, hash FROM audit_entry ORDER BY id"))).all()  # fmt: skip
    assert len({row.prev_hash for row in rows}) == len(rows)  # no two share a predecessor
    assert all(later.prev_hash == earlier.hash for earlier, later in itertools.pairwise(rows))
    report = await verify_chain(engine)
    assert report.intact
    assert report.checked == 20


def _verify(url: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": url}
    return subprocess.run(
        [sys.executable, "-m", "core.cli", "audit", "verify"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


async def test_verify_detects_an_altered_and_a_removed_entry(
    audit_db: tuple[str, AsyncEngine],
) -> None:
    url, engine = audit_db
    ids = [
        await record_now(engine, "test.verify", actor=SYSTEM, details={"n": n}) for n in range(5)
    ]
    intact = await asyncio.to_thread(_verify, url)
    assert intact.returncode == 0, intact.stderr
    assert "audit chain intact: 5 entries checked" in intact.stdout
    # What a superuser could do: switch the trigger off and rewrite history.
    async with engine.begin() as conn:
        await conn.execute(sa.text("ALTER TABLE audit_entry DISABLE TRIGGER audit_entry_no_change"))
        await conn.execute(
            sa.text("UPDATE audit_entry SET details = '{\"n\": 99}' WHERE id = :id"), {"id": ids[2]}
        )
        await conn.execute(sa.text("ALTER TABLE audit_entry ENABLE TRIGGER audit_entry_no_change"))
    altered = await asyncio.to_thread(_verify, url)
    assert altered.returncode == 1
    assert f"entry {ids[2]}: its content does not match its hash" in altered.stderr
    assert "audit chain broken" in altered.stderr
    async with engine.begin() as conn:
        await conn.execute(sa.text("ALTER TABLE audit_entry DISABLE TRIGGER audit_entry_no_change"))
        await conn.execute(sa.text("UPDATE audit_entry SET details = '{\"n\": 2}' WHERE id = :id"), {"id": ids[2]})  # fmt: skip
        await conn.execute(sa.text("DELETE FROM audit_entry WHERE id = :id"), {"id": ids[3]})
        await conn.execute(sa.text("ALTER TABLE audit_entry ENABLE TRIGGER audit_entry_no_change"))
    removed = await verify_chain(engine)
    assert removed.problems == [
        (ids[4], "does not follow the entry before it (one removed or altered)")
    ]


async def _backdated(engine: AsyncEngine, at: datetime, action: str) -> int:
    """An entry written as if at `at` (inserting is allowed; the chain stays valid)."""
    async with engine.begin() as conn:
        prev = await conn.scalar(sa.text("SELECT hash FROM audit_entry ORDER BY id DESC LIMIT 1"))
        entry = {"prev_hash": prev or "0" * 64, "at": at, "actor_kind": "SYSTEM", "actor_id": None,
                 "action": action, "subject_type": None, "subject_id": None,
                 "subject_user_id": None, "client_address": None, "user_agent": None,
                 "details": {}}  # fmt: skip
        entry["hash"] = entry_hash(entry)
        from services.audit.log import audit_table

        return int(
            await conn.scalar(audit_table.insert().values(**entry).returning(audit_table.c.id))
        )


async def test_the_retention_purge_removes_only_entries_past_retention(
    audit_db: tuple[str, AsyncEngine],
) -> None:
    _, engine = audit_db
    now = datetime.now(UTC)
    await _backdated(engine, now - timedelta(days=400), "test.ancient")
    await _backdated(engine, now - timedelta(days=100), "test.old")
    kept = await record_now(engine, "test.recent", actor=SYSTEM)
    assert await purge_audit_entries(engine, timedelta(days=365)) == 1
    assert await purge_audit_entries(engine, timedelta(days=365)) == 0  # idempotent
    # A retention under the 30-day floor cannot reach a recent entry: the trigger refuses.
    with pytest.raises(sa.exc.DBAPIError, match="append-only"):
        await purge_audit_entries(engine, timedelta(seconds=0))
    async with engine.connect() as conn:
        left = list((await conn.execute(sa.text("SELECT action FROM audit_entry ORDER BY id"))).scalars())  # fmt: skip
    assert left == ["test.old", "test.recent"]
    report = await verify_chain(engine)
    assert report.intact
    assert report.last_id == kept
