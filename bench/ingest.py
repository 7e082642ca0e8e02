"""Feed ingestion speed: `uv run python -m bench.ingest [--rows 100000] [--format csv]`.

Generates a dealer feed of `--rows` rows (realistic values, valid VINs, prices as decimal
strings, a few rows in miles), then times three runs of services/feeds on real
PostgreSQL and Redis (embedded in a temporary directory, unless DATABASE_URL and REDIS_URL
are set, in which case their data is kept) over a catalog of `--catalog` vehicles:

    first       every row new                       (created)
    again       the same feed                       (unchanged: nothing written)
    changed     10% new prices, 1% gone, 1% new     (updated, withdrawn, created)

Each run is timed from claim to commit, as a worker runs it (progress heartbeat, one
transaction, quote-cache invalidation), and printed as a table with rows per second and
the CPU seconds of this process (PostgreSQL's own work is not in them): on a busy
machine, wall time grows and CPU time does not.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import asyncpg
import orjson

from core.db import create_engine
from core.migrate import upgrade_to_head_async
from core.redis import create_redis
from core.settings import Environment, Settings
from services.feeds.ingest import IngestOutcome, ingest_run
from services.feeds.runs import create_run
from services.vehicles.seed import seed_catalog
from services.vehicles.vin import SERIAL_CAPACITY, make_vin

COLUMNS = ("external_id", "vin", "make", "model", "year", "mileage", "mileage_unit", "fuel",
           "transmission", "body_type", "colour", "power_kw", "location_country",
           "location_city", "price")  # fmt: skip
_MODELS = (
    ("Volkswagen", "Golf", "hatchback"), ("Skoda", "Octavia", "Kombi"),
    ("BMW", "3 Series", "saloon"), ("Toyota", "RAV4", "SUV"), ("Renault", "Clio", "hatch"),
    ("Peugeot", "3008", "SUV"), ("Ford", "Focus", "estate"), ("Kia", "Niro", "crossover"),
)  # fmt: skip
_FUELS = ("Diesel", "Benzin", "essence", "Hybrid", "PHEV", "EV", "petrol", "diesel")
_GEARBOXES = ("manual", "Automatik", "auto")
_COLOURS = ("black", "White", "GREY", "Blue")
_PLACES = (("DE", "Berlin"), ("FR", "Lyon"), ("IT", "Milano"), ("NL", "Utrecht"),
           ("PL", "Kraków"), ("ES", "Valencia"), ("AT", "Graz"), ("BE", "Gent"))  # fmt: skip


def generate_feed(count: int, *, seed: int) -> list[dict[str, str]]:
    """`count` valid feed rows, deterministic per seed (one in twenty in miles)."""
    rng = random.Random(seed)  # noqa: S311 - test data, not secrets
    first_serial = rng.randrange(SERIAL_CAPACITY - count)
    rows = []
    for index in range(count):
        make, model, body = _MODELS[index % len(_MODELS)]
        country, city = _PLACES[rng.randrange(len(_PLACES))]
        year = rng.randint(2012, 2024)
        km = rng.randint(1_000, 200_000)
        in_miles = index % 20 == 0
        rows.append({
            "external_id": f"STK-{index:08d}",
            "vin": make_vin(rng, "YV4", year, serial=first_serial + index),
            "make": make, "model": model, "year": str(year),
            "mileage": str(km * 5 // 8 if in_miles else km),
            "mileage_unit": "mi" if in_miles else "km",
            "fuel": rng.choice(_FUELS), "transmission": rng.choice(_GEARBOXES),
            "body_type": body, "colour": rng.choice(_COLOURS),
            "power_kw": str(rng.randint(55, 250)),
            "location_country": country, "location_city": city,
            "price": f"{rng.randint(4_000, 90_000)}.{rng.randrange(100):02d}",
        })  # fmt: skip
    return rows


def changed_feed(rows: list[dict[str, str]], *, seed: int) -> list[dict[str, str]]:
    """The feed a day later: 10% new prices, 1% of the rows gone, 1% new ones."""
    rng = random.Random(seed)  # noqa: S311 - test data, not secrets
    kept = [row for index, row in enumerate(rows) if index % 100 != 7]
    repriced = [{**row, "price": f"{rng.randint(4_000, 90_000)}.00"} if i % 10 == 3 else row
                for i, row in enumerate(kept)]  # fmt: skip
    added = generate_feed(len(rows) // 100, seed=seed + 1)
    return repriced + [{**row, "external_id": f"NEW-{row['external_id']}"} for row in added]


_COUNTS = ("created", "updated", "unchanged", "withdrawn", "rejected")


def write_feed(rows: list[dict[str, str]], path: Path, feed_format: str) -> None:
    with path.open("w") as out:
        if feed_format == "jsonl":
            out.writelines(orjson.dumps(row).decode() + "\n" for row in rows)
            return
        out.write(",".join(COLUMNS) + "\n")
        out.writelines(",".join(row[column] for column in COLUMNS) + "\n" for row in rows)


@contextmanager
def _servers() -> Iterator[tuple[str, str]]:
    database_url, redis_url = os.environ.get("DATABASE_URL"), os.environ.get("REDIS_URL")
    if database_url and redis_url:
        yield database_url, redis_url
        return
    from core.embedded import embedded_servers

    data_dir = Path(tempfile.mkdtemp(prefix="autobroker-bench-ingest-"))
    data_dir.chmod(0o755)
    try:
        with embedded_servers(data_dir) as urls:
            assert urls.database_url is not None
            assert urls.redis_url is not None
            yield urls.database_url, urls.redis_url
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


async def _prepare(settings: Settings, catalog: int) -> int:
    assert settings.database_url is not None
    await upgrade_to_head_async(settings.database_url)
    conn = await asyncpg.connect(settings.database_url.replace("postgresql+asyncpg", "postgresql"))
    try:
        await seed_catalog(conn, dealers=50, vehicles=catalog, seed=11)
        await conn.execute("ANALYZE")
        return int(await conn.fetchval("SELECT min(id) FROM dealer"))
    finally:
        await conn.close()


async def _bench(settings: Settings, args: argparse.Namespace, work: Path) -> None:
    dealer_id = await _prepare(settings, args.catalog)
    engine, redis = create_engine(settings), create_redis(settings.redis_url or "")
    source = f"bench-{int(time.time())}"
    rows = generate_feed(args.rows, seed=args.seed)
    feeds = {"first": rows, "again": rows, "changed": changed_feed(rows, seed=args.seed)}
    print(f"\nfeed ingestion: {args.rows:,} rows ({args.format}), catalog of {args.catalog:,}")
    print(f"{'run':<10}{'rows':>9}{'seconds':>9}{'rows/s':>9}{'cpu s':>7}   {' '.join(_COUNTS)}")
    try:
        for name, feed in feeds.items():
            path = work / f"{name}.{args.format}"
            write_feed(feed, path, args.format)
            run = await create_run(engine, source=source, url=str(path), dealer_id=dealer_id)
            started, cpu = time.perf_counter(), time.process_time()
            outcome: IngestOutcome | None = await ingest_run(engine, redis, run["id"])
            seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
            assert outcome is not None, "another process took the run"
            assert outcome.failure_reason is None, outcome.failure_reason
            c = outcome.counts
            counts = " ".join(f"{getattr(c, name):>{len(name)},}" for name in _COUNTS)
            rate = c.rows_read / seconds
            print(f"{name:<10}{c.rows_read:>9,}{seconds:>9.2f}{rate:>9,.0f}{cpu:>7.2f}   {counts}")
    finally:
        await redis.aclose()
        await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.ingest", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--rows", type=int, default=100_000, help="feed rows (default 100,000)")
    parser.add_argument("--catalog", type=int, default=20_000, help="vehicles already listed")
    parser.add_argument("--format", choices=("csv", "jsonl"), default="csv")
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    with _servers() as (database_url, redis_url), tempfile.TemporaryDirectory() as work:
        settings = Settings(environment=Environment.TEST, database_url=database_url,
                            redis_url=redis_url, _env_file=None)  # type: ignore[call-arg]  # fmt: skip
        asyncio.run(_bench(settings, args, Path(work)))


if __name__ == "__main__":
    main()
