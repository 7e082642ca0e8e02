"""No feed run is lost: a worker killed mid-run, a job lost between commit and enqueue
(or with Redis's queue), a run that keeps dying; the sweep sees to each, and the run's
effect happens once."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from arq import Retry
from arq.constants import in_progress_key_prefix, job_key_prefix
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from core.db import Database
from core.job_queue import ArqJobQueue
from core.redis_keys import JOB_QUEUE
from core.settings import Settings
from jobs.context import JobResources
from jobs.feeds import MAX_TRIES, ingest_feed_job
from jobs.worker import create_worker
from models.base import utcnow
from services.feeds.runs import MAX_ATTEMPTS, create_run, job_id, start_run
from services.feeds.sweep import sweep_unfinished
from tests.conftest import ROOT, Servers
from tests.feeds_data import (
    LOOPBACK,
    LOOPBACK_SETTING,
    a_dealer,
    csv_text,
    feed_row_count,
    feed_rows,
    feed_run_row,
    new_source,
    serve_slowly,
)

LEASE_SECONDS = 5
WORKER_START_TIMEOUT = 120  # a loaded CI machine can take a while to import everything
Spawn = Callable[[], subprocess.Popen[bytes]]


@pytest.fixture
def spawn_worker(servers: Servers, database: str, tmp_path: Path) -> Iterator[Spawn]:
    """Starts `autobroker worker` processes; stops whichever are still running at the end."""
    processes: list[subprocess.Popen[bytes]] = []

    def spawn() -> subprocess.Popen[bytes]:
        env = {**os.environ, "DATABASE_URL": servers.database_url, "REDIS_URL": servers.redis_url,
               "ENVIRONMENT": "test", "FEED_LEASE_SECONDS": str(LEASE_SECONDS),
               "FEED_ALLOWED_NETWORKS": LOOPBACK_SETTING}  # fmt: skip
        log_path = tmp_path / f"worker-{len(processes)}.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen([sys.executable, "-m", "core.cli", "worker"], cwd=ROOT,
                                       env=env, stdout=log, stderr=subprocess.STDOUT)  # fmt: skip
        processes.append(process)
        deadline = time.monotonic() + WORKER_START_TIMEOUT
        while b"redis_version=" not in log_path.read_bytes():  # arq is connected: ready
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"worker did not start: {log_path.read_text()[-2000:]}")
            time.sleep(0.1)
        return process

    yield spawn
    for process in processes:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture
async def forget_jobs(redis: Redis) -> AsyncIterator[list[str]]:
    """Job ids to take out of Redis at the end: a killed worker's job stays "in progress"
    for minutes, and would keep a later burst worker waiting for it."""
    ids: list[str] = []
    yield ids
    for stale in ids:
        await redis.zrem(JOB_QUEUE, stale)
        await redis.delete(job_key_prefix + stale, in_progress_key_prefix + stale)


async def _wait_for(
    engine: AsyncEngine, run_id: int, ready: Callable[[Any], bool], *, timeout: float
) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        row = await feed_run_row(engine, run_id)
        if ready(row):
            return row
        if time.monotonic() > deadline:
            raise AssertionError(f"run {run_id} not there in {timeout} s: {dict(row)}")
        await asyncio.sleep(0.1)


async def test_a_worker_killed_mid_run_leaves_a_run_the_sweep_completes_once(
    engine: AsyncEngine, redis: Redis, spawn_worker: Spawn, forget_jobs: list[str]
) -> None:
    source, rows = new_source("killed"), feed_rows(20_000)
    queue = ArqJobQueue(redis)
    # About 2 MB, 64 KB every 0.1 s: the first worker is still reading when it is killed.
    with serve_slowly(csv_text(rows).encode()) as feed:
        first = spawn_worker()
        run = await start_run(engine, queue, source=source, url=feed.url,
                              dealer_id=await a_dealer(engine), allowed_networks=LOOPBACK)  # fmt: skip
        forget_jobs.append(job_id(run["id"], 1))
        running = await _wait_for(engine, run["id"], lambda row: row["rows_read"] > 0, timeout=60)
        assert running["status"] == "RUNNING"
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)

        killed = await feed_run_row(engine, run["id"])
        assert (killed["status"], killed["attempts"]) == ("RUNNING", 1)
        assert 0 < killed["rows_read"] < len(rows)
        assert await feed_row_count(engine, source) == 0  # its transaction died with it
        assert (await sweep_unfinished(engine, queue)).requeued == []  # its lease holds

        await asyncio.sleep((killed["lease_until"] - utcnow()).total_seconds() + 0.2)
        assert run["id"] in (await sweep_unfinished(engine, queue)).requeued
        assert (await sweep_unfinished(engine, queue)).requeued == []  # its new job waits

        feed.pause = 0
        spawn_worker()
        done = await _wait_for(engine, run["id"], lambda row: row["status"] == "SUCCEEDED",
                               timeout=120)  # fmt: skip
    assert (done["created"], done["rejected"], done["attempts"], done["enqueues"]) == (
        len(rows),
        0,
        2,
        2,
    )
    assert await feed_row_count(engine, source) == len(rows)


async def test_a_run_whose_job_was_lost_is_enqueued_again_and_applied(
    engine: AsyncEngine, redis: Redis, settings: Settings, tmp_path: Path
) -> None:
    lost_feed, waiting_feed = tmp_path / "lost.csv", tmp_path / "waiting.csv"
    lost_feed.write_text(csv_text(feed_rows(50)))
    waiting_feed.write_text(csv_text(feed_rows(50)))
    dealer = await a_dealer(engine)
    queue = ArqJobQueue(redis)
    # Committed, then the process died before enqueueing (or Redis lost its queue).
    lost = await create_run(engine, source=new_source("lost"), url=str(lost_feed), dealer_id=dealer)
    waiting = await start_run(
        engine, queue, source=new_source("wait"), url=str(waiting_feed), dealer_id=dealer
    )
    assert (await sweep_unfinished(engine, queue)).requeued == []  # both are still fresh
    later = utcnow() + timedelta(minutes=2)
    report = await sweep_unfinished(engine, queue, now=later)
    assert lost["id"] in report.requeued
    assert waiting["id"] not in report.requeued  # its job is in the queue: nothing to do
    assert await queue.is_waiting(job_id(lost["id"], 2))

    worker = create_worker(settings, handle_signals=False, burst=True)
    worker.cron_jobs = []
    try:
        await worker.main()
    finally:
        await worker.close()
    for run in (lost, waiting):
        row = await feed_run_row(engine, run["id"])
        assert (row["status"], row["created"]) == ("SUCCEEDED", 50)


async def test_a_run_that_keeps_dying_fails_after_its_attempts(
    engine: AsyncEngine, redis: Redis, tmp_path: Path
) -> None:
    feed = tmp_path / "cursed.csv"
    feed.write_text(csv_text(feed_rows(5)))
    run = await create_run(engine, source=new_source("cursed"), url=str(feed),
                           dealer_id=await a_dealer(engine))  # fmt: skip
    async with engine.begin() as conn:  # its last worker died mid-run, like all before it
        await conn.execute(sa.text(
            "UPDATE feed_run SET status = 'RUNNING', attempts = :attempts, lease_until = now(), "
            "lease_token = gen_random_uuid(), failure_reason = 'retrying: OSError()' WHERE id = :id"
        ), {"attempts": MAX_ATTEMPTS, "id": run["id"]})  # fmt: skip
    report = await sweep_unfinished(engine, ArqJobQueue(redis), now=utcnow() + timedelta(seconds=1))
    assert run["id"] in report.failed
    assert run["id"] not in report.requeued
    row = await feed_run_row(engine, run["id"])
    assert (row["status"], row["failure_reason"]) == (
        "FAILED",
        f"gave up after {MAX_ATTEMPTS} attempts, each stopped before it finished "
        "(the last: retrying: OSError())",
    )


async def test_an_unreachable_feed_is_retried_with_backoff_then_fails(
    engine: AsyncEngine, redis: Redis, settings: Settings
) -> None:
    with socket.socket() as closed:  # a port nobody listens on
        closed.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{closed.getsockname()[1]}/stock.csv"
    run = await create_run(
        engine, source=new_source("down"), url=url, dealer_id=await a_dealer(engine),
        allowed_networks=LOOPBACK,
    )  # fmt: skip
    settings = settings.model_copy(update={"feed_allowed_networks": LOOPBACK})
    ctx = {"resources": JobResources(settings=settings, database=Database(engine), redis=redis)}
    for job_try, backoff in ((1, 10), (2, 20), (3, 40)):
        with pytest.raises(Retry) as retry:
            await ingest_feed_job({**ctx, "job_try": job_try}, run["id"])
        assert retry.value.defer_score == backoff * 1000
        row = await feed_run_row(engine, run["id"])
        assert (row["status"], row["attempts"]) == ("QUEUED", job_try)
        assert row["failure_reason"].startswith(f"retrying: fetching {url} failed:")
    assert await ingest_feed_job({**ctx, "job_try": MAX_TRIES}, run["id"]) == {
        "run_id": run["id"], "status": "FAILED", "rows_read": 0, "created": 0, "updated": 0,
        "unchanged": 0, "withdrawn": 0, "rejected": 0,
    }  # fmt: skip
    row = await feed_run_row(engine, run["id"])
    assert row["failure_reason"].startswith(f"fetching {url} failed:")
    assert row["failure_reason"].endswith("(after 4 attempts)")
