"""The deployment deploy/ describes, on one machine: two API processes and two workers on
one PostgreSQL and one Redis. Either API answers alike, a job runs exactly once whichever
worker takes it, and the rate-limit bucket of a client is one bucket for both APIs."""

from __future__ import annotations

import asyncio
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from redis.asyncio import Redis

from core.job_queue import ArqJobQueue
from tests.conftest import Servers, start_uvicorn
from tests.process_support import base_env, start_worker, terminate

COUNT = "query ReplicaPage { vehicles(first: 50) { totalCount edges { node { id } } } }"


@pytest.fixture(scope="module")
def two_apis(
    servers: Servers, database: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[list[str]]:
    logs = tmp_path_factory.mktemp("replicas")
    # A small anonymous budget: 1000 points, 1 restored a second.
    started = [start_uvicorn(servers, logs / f"api{n}.log", extra_env={"RATE_LIMIT_ANONYMOUS": "[1000, 1]"})
               for n in (1, 2)]  # fmt: skip
    try:
        yield [base_url for _, base_url in started]
    finally:
        for process, _ in started:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _client_headers() -> dict[str, str]:
    # A client address of its own (uvicorn trusts X-Forwarded-For from 127.0.0.1).
    return {"x-forwarded-for": f"198.51.100.{uuid.uuid4().int % 250 + 1}"}


def test_both_apis_answer_alike(two_apis: list[str]) -> None:
    headers = _client_headers()
    answers = [httpx.post(f"{url}/graphql", json={"query": COUNT}, headers=headers).json()["data"]
               for url in two_apis]  # fmt: skip
    assert answers[0] == answers[1]
    assert answers[0]["vehicles"]["totalCount"] > 0
    for url in two_apis:
        assert httpx.get(f"{url}/health/ready").json()["checks"] == {
            "database": "ok",
            "redis": "ok",
        }


def test_the_rate_limit_bucket_is_shared_by_both_apis(two_apis: list[str]) -> None:
    # Computed each time (no-store): a response-cache hit would cost 1 point, not 50.
    headers = {**_client_headers(), "cache-control": "no-store"}
    first, second = two_apis
    assert (
        httpx.post(f"{second}/graphql", json={"query": COUNT}, headers=headers).status_code == 200
    )
    answered = 0
    for _ in range(200):
        response = httpx.post(f"{first}/graphql", json={"query": COUNT}, headers=headers)
        if response.status_code == 429:
            break
        answered += 1
    else:
        pytest.fail("the first API never ran out of budget")
    assert 5 <= answered < 50  # 1000 points; each request costs about 50
    refused = httpx.post(f"{second}/graphql", json={"query": COUNT}, headers=headers)
    assert refused.status_code == 429  # drained through the first API
    assert refused.json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"


async def test_each_job_runs_exactly_once_on_two_workers(
    servers: Servers, database: str, redis: Redis, tmp_path: Path
) -> None:
    env = base_env(DATABASE_URL=database, REDIS_URL=servers.redis_url)
    workers = await asyncio.gather(
        asyncio.to_thread(start_worker, env, tmp_path / "worker1.log"),
        asyncio.to_thread(start_worker, env, tmp_path / "worker2.log"),
    )
    key = f"test:runs:{uuid.uuid4().hex}"
    job_ids = [f"replica-{uuid.uuid4().hex}" for _ in range(24)]
    try:
        queue = ArqJobQueue(redis)
        for job_id in job_ids:  # more than one worker takes at once (arq's max_jobs, 10)
            assert await queue.enqueue("record_run", key, 1.0, job_id=job_id)
            assert not await queue.enqueue("record_run", key, 1.0, job_id=job_id)  # known id
        for _ in range(300):
            if await redis.llen(key) >= len(job_ids):  # type: ignore[misc]
                break
            await asyncio.sleep(0.1)
        await asyncio.sleep(1.0)  # a second run would show by now
        runs = [entry.decode().split(":") for entry in await redis.lrange(key, 0, -1)]  # type: ignore[misc]
    finally:
        stopped = [await asyncio.to_thread(terminate, worker, 30) for worker in workers]
    assert sorted(job_id for job_id, _ in runs) == sorted(job_ids)
    assert {pid for _, pid in runs} == {str(worker.pid) for worker in workers}
    assert [status for status, _ in stopped] == [0, 0]
