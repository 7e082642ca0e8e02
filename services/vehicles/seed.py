"""Demo catalog: realistic dealers and vehicles, deterministic per seed, loaded with COPY.

`generate_dealers` and `generate_vehicles` are pure (same seed, ids and `now`: same rows);
`seed_catalog` draws ids from the database and bulk-loads the rows in one transaction.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import islice

import asyncpg

from services.vehicles.seed_rows import (
    DEALER_COLUMNS,
    VEHICLE_COLUMNS,
    DealerRow,
    VehicleRow,
    generate_dealers,
    generate_vehicles,
)
from services.vehicles.vin import SERIAL_CAPACITY, vary_vds

__all__ = [
    "DealerRow",
    "SeedSummary",
    "VehicleRow",
    "catalog_is_empty",
    "generate_dealers",
    "generate_vehicles",
    "seed_catalog",
]

# From this many vehicles, when they at least double the table, indexes are rebuilt once
# after the load instead of being updated row by row.
BULK_LOAD_MIN_ROWS = 50_000


@dataclass(frozen=True, slots=True)
class SeedSummary:
    dealers: int
    vehicles: int


async def catalog_is_empty(conn: asyncpg.Connection) -> bool:
    """Whether no vehicle is listed yet (dealers alone do not make a catalog)."""
    return bool(await conn.fetchval("SELECT NOT EXISTS (SELECT 1 FROM vehicle)"))


async def seed_catalog(
    conn: asyncpg.Connection,
    *,
    dealers: int = 120,
    vehicles: int = 5000,
    seed: int = 2026,
    now: datetime | None = None,
    progress: Callable[[int], None] | None = None,
    batch_size: int = 20_000,
) -> SeedSummary:
    """Append `dealers` new dealers and `vehicles` vehicles listed by them, in one transaction.

    `progress(n)` is called after each vehicle batch with the n rows that batch inserted.
    Existing rows are kept; new VINs never collide with stored ones. A bulk load (at least
    BULK_LOAD_MIN_ROWS vehicles, at least as many as stored) rebuilds the vehicle indexes
    after the last batch, holding an exclusive lock on the table until it commits.
    """
    if dealers < 0 or vehicles < 0:
        raise ValueError("dealers and vehicles must not be negative")
    if vehicles and not dealers:
        raise ValueError("vehicles need at least one dealer to list them")
    if batch_size < 1:
        raise ValueError("batch_size must be positive")
    now = _aware_utc(now)
    async with conn.transaction():
        # Ids come from the sequences so the vehicles can reference dealers COPY created.
        dealer_ids = await conn.fetch(
            "SELECT nextval(pg_get_serial_sequence('dealer', 'id')) AS id"
            " FROM generate_series(1, $1::int)",
            dealers,
        )
        dealer_rows = generate_dealers([record["id"] for record in dealer_ids], seed=seed, now=now)
        await conn.copy_records_to_table("dealer", records=dealer_rows, columns=DEALER_COLUMNS)

        # Seeded VINs are unique by serial index; every earlier seeded vehicle got an id at
        # least as large as its serial index, so starting past the largest id cannot collide.
        last_id: int = await conn.fetchval("SELECT coalesce(max(id), 0) FROM vehicle")
        rows = generate_vehicles(
            dealer_rows, vehicles, seed=seed, now=now, first_serial=last_id % SERIAL_CAPACITY
        )
        async with _indexes_deferred(conn, enabled=await _is_bulk_load(conn, vehicles)):
            inserted = await _copy_vehicles(
                conn,
                rows,
                batch_size=batch_size,
                check_vins=last_id > 0,
                seed=seed,
                progress=progress,
            )
    return SeedSummary(dealers=len(dealer_rows), vehicles=inserted)


def _aware_utc(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(UTC)
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    return now.astimezone(UTC)


async def _copy_vehicles(
    conn: asyncpg.Connection,
    rows: Iterable[VehicleRow],
    *,
    batch_size: int,
    check_vins: bool,
    seed: int,
    progress: Callable[[int], None] | None,
) -> int:
    iterator = iter(rows)
    # The next batch is generated on a thread while the server ingests the current one.
    upcoming = asyncio.ensure_future(asyncio.to_thread(_take, iterator, batch_size))
    inserted = 0
    try:
        while batch := await upcoming:
            upcoming = asyncio.ensure_future(asyncio.to_thread(_take, iterator, batch_size))
            if check_vins:
                # Ingested (real) VINs can still clash with a synthetic one.
                batch = await _without_taken_vins(conn, batch, seed=seed)
            await conn.copy_records_to_table("vehicle", records=batch, columns=VEHICLE_COLUMNS)
            inserted += len(batch)
            if progress is not None:
                progress(len(batch))
    finally:
        upcoming.cancel()
    return inserted


async def _is_bulk_load(conn: asyncpg.Connection, vehicles: int) -> bool:
    if vehicles < BULK_LOAD_MIN_ROWS:
        return False
    stored: int = await conn.fetchval("SELECT count(*) FROM vehicle")
    return vehicles >= stored


@contextlib.asynccontextmanager
async def _indexes_deferred(conn: asyncpg.Connection, *, enabled: bool) -> AsyncIterator[None]:
    """Drop the vehicle table's plain indexes, then rebuild them from their definitions.

    Building an index once over all rows is several times faster than updating a dozen
    indexes row by row. Unique and constraint indexes stay: they guard correctness. All of
    this is inside the seeding transaction, so a failure restores the indexes.
    """
    if not enabled:
        yield
        return
    indexes = await conn.fetch(
        """SELECT i.indexrelid::regclass::text AS name, pg_get_indexdef(i.indexrelid) AS ddl
           FROM pg_index i
           WHERE i.indrelid = 'vehicle'::regclass AND NOT i.indisunique
             AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)"""
    )
    for index in indexes:
        # The name comes from the catalog, quoted by regclass: safe to interpolate.
        await conn.execute(f"DROP INDEX {index['name']}")
    yield
    for index in indexes:
        await conn.execute(index["ddl"])


def _take(rows: Iterator[VehicleRow], size: int) -> list[VehicleRow]:
    return list(islice(rows, size))


async def _without_taken_vins(
    conn: asyncpg.Connection, batch: list[VehicleRow], *, seed: int
) -> list[VehicleRow]:
    # Seeded from the batch, so that a rerun on the same database repeats the result.
    rng = random.Random(f"{seed}:vin-clash:{batch[0].vin}")  # noqa: S311 - not a secret
    while True:
        taken = {
            record["vin"]
            for record in await conn.fetch(
                "SELECT vin FROM vehicle WHERE vin = ANY($1::bpchar[])",
                [row.vin for row in batch],
            )
        }
        if not taken:
            return batch
        batch = [
            row._replace(vin=vary_vds(rng, row.vin)) if row.vin in taken else row for row in batch
        ]
