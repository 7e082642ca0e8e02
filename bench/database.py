"""The benchmark's PostgreSQL and Redis: embedded by default, migrated, seeded once."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from core.embedded import embedded_servers
from core.migrate import upgrade_to_head_async
from core.settings import Settings
from services.vehicles.seed import catalog_is_empty, seed_catalog

SEED_DEALERS = 120


@dataclass(frozen=True, slots=True)
class Urls:
    database_url: str  # postgresql+asyncpg://
    redis_url: str
    where: str  # for the report: "embedded in DIR" or "DATABASE_URL / REDIS_URL"

    @property
    def dsn(self) -> str:
        return self.database_url.replace("postgresql+asyncpg://", "postgresql://", 1)


@contextlib.contextmanager
def benchmark_servers(data_dir: Path | None) -> Iterator[Urls]:
    """DATABASE_URL / REDIS_URL when set; otherwise embedded servers in `data_dir`.

    Without `data_dir` they live in a temporary directory removed at the end.
    """
    database_url = os.environ.get("DATABASE_URL") or None
    redis_url = os.environ.get("REDIS_URL") or None
    if database_url and redis_url:
        checked = Settings(database_url=database_url, redis_url=redis_url, _env_file=None)
        assert checked.database_url is not None
        assert checked.redis_url is not None
        yield Urls(checked.database_url, checked.redis_url, "DATABASE_URL and REDIS_URL")
        return
    temporary = data_dir is None
    directory = Path(tempfile.mkdtemp(prefix="autobroker-bench-")) if data_dir is None else data_dir
    directory.mkdir(parents=True, exist_ok=True)
    # Run as root, the embedded PostgreSQL runs as its own user, which must reach its data.
    directory.chmod(0o755)
    try:
        with embedded_servers(
            directory, postgres=database_url is None, redis=redis_url is None
        ) as urls:
            checked = Settings(
                database_url=database_url or urls.database_url,
                redis_url=redis_url or urls.redis_url,
                _env_file=None,
            )
            assert checked.database_url is not None
            assert checked.redis_url is not None
            where = f"embedded in {'a temporary directory' if temporary else directory}"
            yield Urls(checked.database_url, checked.redis_url, where)
    finally:
        if temporary:
            shutil.rmtree(directory, ignore_errors=True)


async def prepare_catalog(urls: Urls, *, vehicles: int) -> int:
    """Migrate, and seed `vehicles` vehicles unless a catalog is there; its size."""
    await upgrade_to_head_async(urls.database_url)
    conn = await asyncpg.connect(urls.dsn)
    try:
        if await catalog_is_empty(conn):
            started = time.monotonic()
            print(f"seeding {vehicles:,} vehicles …", end=" ", flush=True)
            await seed_catalog(conn, dealers=SEED_DEALERS, vehicles=vehicles)
            await conn.execute("ANALYZE")
            print(f"{time.monotonic() - started:.1f} s", flush=True)
        stored: int = await conn.fetchval("SELECT count(*) FROM vehicle")
    finally:
        await conn.close()
    if stored != vehicles:
        print(f"note: the database already holds {stored:,} vehicles; benchmarking those")
    return stored
