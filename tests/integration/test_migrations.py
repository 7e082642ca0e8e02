"""Migrations and models agree, and several processes may migrate at once."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys

from alembic import command

from core.migrate import alembic_config
from tests.conftest import ROOT


async def test_models_and_migrations_agree(database: str) -> None:
    # alembic check raises when autogenerate would produce any operation
    await asyncio.to_thread(command.check, alembic_config(database))


def test_concurrent_migrate_commands_serialise_on_the_advisory_lock(database: str) -> None:
    env = {**os.environ, "DATABASE_URL": database}
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "core.cli", "migrate"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(3)
    ]
    outputs = [process.communicate(timeout=120)[0] for process in processes]
    assert [process.returncode for process in processes] == [0, 0, 0], outputs
    assert all("newest migration" in output for output in outputs)
    command.check(alembic_config(database))
