"""Feed ingestion on real PostgreSQL and Redis: exact counts, idempotence, truncation,
http feeds, the quote cache, and two workers racing for one run."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from core.job_queue import ArqJobQueue
from core.redis_keys import QUOTE_CACHE_PREFIX
from core.settings import Settings
from jobs.worker import create_worker
from models.base import utcnow
from services.feeds.ingest import ingest_run
from services.feeds.runs import claim_run, create_run, enqueue_run, start_run
from tests.feeds_data import (
    LOOPBACK,
    a_dealer,
    csv_text,
    feed_row_count,
    feed_rows,
    feed_run_row,
    jsonl_text,
    new_source,
    rejections,
    serve_directory,
    serve_slowly,
    source_vehicles,
)


@pytest.fixture(scope="module")
async def dealer_id(engine: AsyncEngine) -> int:
    return await a_dealer(engine)


async def _ingest(engine: AsyncEngine, redis: Redis, source: str, url: str, dealer_id: int) -> Any:
    run = await create_run(
        engine, source=source, url=url, dealer_id=dealer_id, allowed_networks=LOOPBACK
    )
    outcome = await ingest_run(engine, redis, run["id"], allowed_networks=LOOPBACK)
    assert outcome is not None
    return await feed_run_row(engine, run["id"])


def _counts(run: Any) -> tuple[str, int, int, int, int, int, int]:
    return (run["status"], run["rows_read"], run["created"], run["updated"], run["unchanged"],
            run["withdrawn"], run["rejected"])  # fmt: skip


async def test_good_duplicate_malformed_and_missing_rows_give_exact_counts(
    engine: AsyncEngine, redis: Redis, dealer_id: int, tmp_path: Path
) -> None:
    source = new_source()
    e1, e2, e3, e4, e5, e6, n1, n2 = feed_rows(8)
    first = tmp_path / "first.csv"
    first.write_text(csv_text([e1, e2, e3, e4, e5, e6]))
    assert _counts(await _ingest(engine, redis, source, str(first), dealer_id)) == (
        "SUCCEEDED",
        6,
        6,
        0,
        0,
        0,
        0,
    )
    before = await source_vehicles(engine, source)

    second = tmp_path / "second.csv"
    second.write_text(
        csv_text(
            [
                e1,  # line 2: unchanged
                {**e2, "price": "99999.00"},  # line 3: updated
                e3,  # line 4: unchanged
                {**e5, "vin": "NOT-A-VIN"},  # line 5: rejected, its vehicle kept as it was
                e6,  # line 6: unchanged
                {**e6, "price": "1.00"},  # line 7: duplicate external id: rejected
                n1,  # line 8: created
                {**n2, "vin": n1["vin"]},  # line 9: duplicate VIN: rejected
            ]
        )
        + "just,three,fields\n"
    )  # line 10: malformed: rejected; e4 is missing
    run = await _ingest(engine, redis, source, str(second), dealer_id)
    assert _counts(run) == ("SUCCEEDED", 9, 1, 1, 3, 1, 4)
    assert await rejections(engine, run["id"]) == [
        (5, e5["external_id"], ["VIN_INVALID"]),
        (7, e6["external_id"], ["DUPLICATE_EXTERNAL_ID"]),
        (9, n2["external_id"], ["DUPLICATE_VIN"]),
        (10, None, ["FIELD_COUNT"]),
    ]
    after = await source_vehicles(engine, source)
    assert after[e2["external_id"]]["price_minor"] == 9_999_900
    assert after[e4["external_id"]]["status"] == "WITHDRAWN"
    assert after[e5["external_id"]]["status"] == "AVAILABLE"
    assert after[e5["external_id"]]["vin"] == e5["vin"]
    for unchanged in (e1, e3, e6):
        assert (
            after[unchanged["external_id"]]["updated_at"]
            == before[unchanged["external_id"]]["updated_at"]
        )
    assert set(after) == {row["external_id"] for row in (e1, e2, e3, e4, e5, e6, n1)}

    # The same feed again changes nothing: no row is written, updated_at stays.
    again = await _ingest(engine, redis, source, str(second), dealer_id)
    assert _counts(again) == ("SUCCEEDED", 9, 0, 0, 5, 0, 4)
    assert await source_vehicles(engine, source) == after


async def test_a_truncated_or_unreadable_feed_fails_and_withdraws_nothing(
    engine: AsyncEngine, redis: Redis, dealer_id: int, tmp_path: Path
) -> None:
    source = new_source()
    rows = feed_rows(3)
    full = tmp_path / "full.csv"
    full.write_text(csv_text(rows))
    await _ingest(engine, redis, source, str(full), dealer_id)
    listed = await source_vehicles(engine, source)

    cut = tmp_path / "cut.csv"
    cut.write_text(csv_text([*rows[:1], {**rows[1], "vin": "BAD"}])[:-25])  # a row, then half one
    run = await _ingest(engine, redis, source, str(cut), dealer_id)
    assert run["status"] == "FAILED"
    assert run["failure_reason"] == (
        "the feed was cut short: its last line (3) has no line break and too few fields"
    )
    assert (run["created"], run["updated"], run["withdrawn"]) == (0, 0, 0)
    assert await rejections(engine, run["id"]) == []  # nothing of a failed run is kept

    gone = tmp_path / "gone.csv"
    gone.write_text(csv_text(rows[:1]))
    started = await create_run(engine, source=source, url=str(gone), dealer_id=dealer_id)
    gone.unlink()
    assert (await ingest_run(engine, redis, started["id"])) is not None
    run = await feed_run_row(engine, started["id"])
    assert (run["status"], run["failure_reason"]) == (
        "FAILED",
        f"cannot read {started['url']}: No such file or directory",
    )
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n\n")
    run = await _ingest(engine, redis, source, str(empty), dealer_id)
    assert (run["status"], run["failure_reason"]) == (
        "FAILED",
        "the feed has no rows (so nothing is withdrawn)",
    )
    assert await source_vehicles(engine, source) == listed


async def test_a_feed_over_http_in_json_lines(
    engine: AsyncEngine, redis: Redis, dealer_id: int, tmp_path: Path
) -> None:
    source = new_source()
    rows = feed_rows(4)
    rows[0] = {**rows[0], "price": 21990.5, "mileage_km": None, "mileage": "12,000 miles"}
    (tmp_path / "stock.jsonl").write_text(jsonl_text(rows))
    with serve_directory(tmp_path) as base_url:
        run = await _ingest(engine, redis, source, f"{base_url}/stock.jsonl", dealer_id)
        missing = await _ingest(engine, redis, source, f"{base_url}/missing.jsonl", dealer_id)
    assert (_counts(run), run["format"]) == (("SUCCEEDED", 4, 4, 0, 0, 0, 0), "JSONL")
    vehicle = (await source_vehicles(engine, source))[rows[0]["external_id"]]
    assert (vehicle["price_minor"], vehicle["mileage_km"]) == (2_199_050, 19_312)
    assert (missing["status"], missing["failure_reason"]) == (
        "FAILED",
        f"HTTP 404 from {base_url}/missing.jsonl",
    )


async def test_changed_and_withdrawn_vehicles_lose_their_cached_quotes(
    engine: AsyncEngine, redis: Redis, dealer_id: int, tmp_path: Path
) -> None:
    source = new_source()
    kept, changed, dropped = feed_rows(3)
    feed = tmp_path / "feed.csv"
    feed.write_text(csv_text([kept, changed, dropped]))
    await _ingest(engine, redis, source, str(feed), dealer_id)
    ids = {key: row["id"] for key, row in (await source_vehicles(engine, source)).items()}
    for vehicle_id in ids.values():
        await redis.hset(f"{QUOTE_CACHE_PREFIX}{vehicle_id}", "AT:2025.1", b"{}")  # type: ignore[misc]
    feed.write_text(csv_text([kept, {**changed, "price": "123.45"}]))
    await _ingest(engine, redis, source, str(feed), dealer_id)
    cached = [await redis.exists(f"{QUOTE_CACHE_PREFIX}{ids[row['external_id']]}")
              for row in (kept, changed, dropped)]  # fmt: skip
    assert cached == [1, 0, 0]


async def test_two_workers_racing_for_one_run_apply_it_once(
    engine: AsyncEngine, redis: Redis, dealer_id: int, tmp_path: Path
) -> None:
    source = new_source()
    feed = tmp_path / "race.csv"
    feed.write_text(csv_text(feed_rows(3000)))
    run = await create_run(engine, source=source, url=str(feed), dealer_id=dealer_id)
    outcomes = await asyncio.gather(*(ingest_run(engine, redis, run["id"]) for _ in range(2)))
    assert sorted(outcome is None for outcome in outcomes) == [False, True]
    row = await feed_run_row(engine, run["id"])
    assert (_counts(row), row["attempts"]) == (("SUCCEEDED", 3000, 3000, 0, 0, 0, 0), 1)
    assert len(await source_vehicles(engine, source)) == 3000


async def test_two_arq_workers_given_two_jobs_of_one_run_apply_it_once(
    engine: AsyncEngine, redis: Redis, settings: Settings, dealer_id: int, tmp_path: Path
) -> None:
    source = new_source()
    feed = tmp_path / "jobs.csv"
    feed.write_text(csv_text(feed_rows(2000)))
    queue = ArqJobQueue(redis)
    run = await start_run(engine, queue, source=source, url=str(feed), dealer_id=dealer_id)
    assert await enqueue_run(queue, run["id"], 2)  # as a sweep would, while the first waits
    assert not await enqueue_run(queue, run["id"], 2)  # arq refuses a known job id
    workers = [create_worker(settings, handle_signals=False, burst=True) for _ in range(2)]
    for worker in workers:
        worker.cron_jobs = []
    try:
        await asyncio.gather(*(worker.main() for worker in workers))
    finally:
        for worker in workers:
            await worker.close()
    row = await feed_run_row(engine, run["id"])
    assert (_counts(row), row["attempts"]) == (("SUCCEEDED", 2000, 2000, 0, 0, 0, 0), 1)
    assert len(await source_vehicles(engine, source)) == 2000


async def test_a_worker_that_lost_its_lease_rolls_back_and_the_new_holder_applies_the_run(
    engine: AsyncEngine, redis: Redis, dealer_id: int
) -> None:
    source, rows = new_source(), feed_rows(20_000)
    # About 2 MB, 64 KB every 0.1 s: the first worker reads for over 3 seconds.
    with serve_slowly(csv_text(rows).encode()) as feed:
        run = await create_run(
            engine, source=source, url=feed.url, dealer_id=dealer_id, allowed_networks=LOOPBACK
        )
        first = asyncio.create_task(ingest_run(engine, redis, run["id"], allowed_networks=LOOPBACK))
        while (await feed_run_row(engine, run["id"]))["rows_read"] == 0:
            await asyncio.sleep(0.05)
        # The first worker looks dead to the rest (its lease lapsed): another takes over.
        stolen = await claim_run(engine, run["id"], now=utcnow() + timedelta(minutes=2))
        assert stolen is not None
        assert await first is None  # its heartbeat saw the lease gone: it stopped, rolled back
        assert await feed_row_count(engine, source) == 0
        assert await claim_run(engine, run["id"]) is None  # the new holder's lease is valid
        async with engine.begin() as conn:  # the new holder dies too; its lease lapses
            await conn.execute(sa.text("UPDATE feed_run SET lease_until = now() WHERE id = :id"),
                               {"id": run["id"]})  # fmt: skip
        feed.pause = 0
        assert await ingest_run(engine, redis, run["id"], allowed_networks=LOOPBACK) is not None
    row = await feed_run_row(engine, run["id"])
    assert (row["status"], row["created"], row["attempts"]) == ("SUCCEEDED", len(rows), 3)
    assert await feed_row_count(engine, source) == len(rows)
