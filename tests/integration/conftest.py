"""A database of its own for the production-mode tests: `serve` refuses a database that
holds the development demo accounts, which other tests create in the shared one."""

from __future__ import annotations

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from core.migrate import upgrade_to_head_async
from tests.conftest import Servers

PRODUCTION_DATABASE = "autobroker_production_test"


@pytest.fixture(scope="session")
async def production_database(servers: Servers) -> str:
    """A freshly migrated, empty database beside the test one; its SQLAlchemy URL."""
    admin = await asyncpg.connect(
        servers.database_url.replace("postgresql+asyncpg://", "postgresql://", 1)
    )
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{PRODUCTION_DATABASE}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{PRODUCTION_DATABASE}"')
    finally:
        await admin.close()
    url = (
        make_url(servers.database_url)
        .set(database=PRODUCTION_DATABASE)
        .render_as_string(hide_password=False)
    )
    await upgrade_to_head_async(url)
    return url
