"""Enqueueing arq jobs from any process, on the Redis client it already has.

`ArqJobQueue` wraps the client's connection pool in arq's `ArqRedis`: no second pool,
nothing to close. Job ids make enqueueing idempotent: arq refuses a job whose id it still
knows (queued, running, or its result kept).
"""

from __future__ import annotations

from typing import Any

from arq.connections import ArqRedis
from arq.constants import in_progress_key_prefix
from redis.asyncio import Redis

from core.redis_keys import JOB_QUEUE


class ArqJobQueue:
    """The job queue of `autobroker worker`, for the API, the CLI and jobs themselves."""

    def __init__(self, redis: Redis) -> None:
        self._arq = ArqRedis(redis.connection_pool, default_queue_name=JOB_QUEUE)

    async def enqueue(self, function: str, *args: Any, job_id: str) -> bool:
        """Enqueue `function(*args)` as `job_id`; False if arq already knows that id."""
        return await self._arq.enqueue_job(function, *args, _job_id=job_id) is not None

    async def is_waiting(self, job_id: str) -> bool:
        """Whether the job is in the queue (maybe deferred for a retry), not started."""
        async with self._arq.pipeline(transaction=False) as pipe:
            pipe.zscore(JOB_QUEUE, job_id)
            pipe.exists(in_progress_key_prefix + job_id)
            score, running = await pipe.execute()
        return score is not None and not running
