"""The API process's outbox relay (services/outbox.py), and what a Redis comeback needs.

Every `interval` seconds the relay publishes the order events whose publication failed
and sets the backlog gauge. When this process sees Redis answer again after an outage
(its circuit closed, core/redis.py), the response cache is emptied once: invalidations
that failed meanwhile (a vehicle edited during the outage) must not leave stale answers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from core import metrics, response_cache
from core.availability import unavailable_dependency
from core.redis import RedisCircuit
from services.outbox import outbox_backlog, relay_outbox

log = logging.getLogger("autobroker.outbox")
RELAY_SECONDS = 1.0


class OutboxRelay:
    def __init__(
        self,
        engine: AsyncEngine,
        redis: Redis,
        circuit: RedisCircuit,
        *,
        interval: float = RELAY_SECONDS,
    ) -> None:
        self._engine = engine
        self._redis = redis
        self._circuit = circuit
        self._interval = interval
        self._recoveries = circuit.recoveries
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="outbox-relay")

    async def stop(self) -> None:
        if self._task is not None:
            task, self._task = self._task, None
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def run_once(self) -> int:
        """One pass: publish what waits (if Redis is reachable), refresh the gauge."""
        if self._circuit.recoveries != self._recoveries:
            self._recoveries = self._circuit.recoveries
            dropped = await response_cache.invalidate(self._redis, [response_cache.ALL])
            log.info("Redis is back: response cache emptied", extra={"dropped": dropped})
        published = 0
        if self._circuit.allow():
            published = await relay_outbox(self._engine, self._redis)
            if published:
                log.info("outbox relay published %d order events", published)
        metrics.record_outbox_backlog(await outbox_backlog(self._engine))
        return published

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            try:
                await self.run_once()
            except Exception as error:
                if unavailable_dependency(error) is None:
                    log.exception("outbox relay pass failed")
