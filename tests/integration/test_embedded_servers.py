"""The embedded PostgreSQL and Redis: data survive a restart, one process per data dir."""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest
from redis import Redis

from core.embedded import DataDirInUseError, embedded_servers


@pytest.fixture
def data_dir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="autobroker-embedded-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _postgres_processes(data_dir: Path) -> list[int]:
    import psutil

    found = []
    for process in psutil.process_iter(["pid", "cmdline"]):
        cmdline = " ".join(process.info["cmdline"] or [])
        if str(data_dir) in cmdline or ("redis-server" in cmdline and str(data_dir) in cmdline):
            found.append(process.info["pid"])
    return found


def test_data_survive_a_restart_and_nothing_is_left_running(data_dir: Path) -> None:
    with embedded_servers(data_dir) as urls:
        assert urls.database_url
        assert urls.redis_url
        dsn = urls.database_url.replace("+asyncpg", "")

        async def write() -> None:
            conn = await asyncpg.connect(dsn)
            await conn.execute("CREATE TABLE kept (value text); INSERT INTO kept VALUES ('pg')")
            await conn.close()

        asyncio.run(write())
        Redis.from_url(urls.redis_url).set("kept", b"redis")
    assert _postgres_processes(data_dir) == []
    redis_files = {path.name for path in (data_dir / "redis").iterdir()}
    assert "redis.rdb" in redis_files

    with embedded_servers(data_dir) as urls:
        assert urls.database_url
        assert urls.redis_url
        dsn = urls.database_url.replace("+asyncpg", "")

        async def read() -> str:
            conn = await asyncpg.connect(dsn)
            value = await conn.fetchval("SELECT value FROM kept")
            await conn.close()
            return str(value)

        assert asyncio.run(read()) == "pg"
        assert Redis.from_url(urls.redis_url).get("kept") == b"redis"
    assert _postgres_processes(data_dir) == []


def test_a_second_process_on_the_same_data_dir_is_refused(data_dir: Path) -> None:
    # flock is per open file description: a second open in this process conflicts
    # exactly as another process would.
    with (
        embedded_servers(data_dir, redis=False),
        pytest.raises(DataDirInUseError, match=f"pid {os.getpid()}"),
        embedded_servers(data_dir),
    ):
        pass
