"""Applying the alembic migrations from code (`autobroker migrate`, `dev`, tests)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config

ALEMBIC_INI = Path(__file__).resolve().parent.parent / "alembic.ini"


def alembic_config(database_url: str) -> Config:
    config = Config(str(ALEMBIC_INI))
    config.attributes["database_url"] = database_url
    return config


def upgrade_to_head(database_url: str) -> None:
    """Bring the database to the newest schema (blocking; alembic runs its own loop)."""
    command.upgrade(alembic_config(database_url), "head")


async def upgrade_to_head_async(database_url: str) -> None:
    """`upgrade_to_head` from async code, on a thread that may run its own event loop."""
    await asyncio.to_thread(upgrade_to_head, database_url)
