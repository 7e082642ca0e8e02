"""An arq worker that outlives a Redis outage, and catches up on schedules it missed.

arq's own loop ends at the first Redis error of a poll (the worker is gone until someone
restarts it), and a cron tick whose enqueue fails is skipped for good (its next run is
computed before the enqueue). Here:

- a poll that fails on Redis or the network is logged, counted, and tried again after a
  backoff (0.2 s doubling to 5 s); jobs already running go on;
- cron ticks: the next run is only advanced once its enqueue succeeded, and ticks missed
  while the worker could not reach Redis collapse into one run (the latest missed tick):
  arq would enqueue one run per missed tick. Every scheduled job is catch-up based (it
  acts on everything due, not on "the last minute"), so one run after the outage does
  all the outage left undone.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import Any

from arq.worker import Worker
from redis.exceptions import RedisError

from core import metrics

log = logging.getLogger("autobroker.worker")

FIRST_RETRY_SECONDS = 0.2
LAST_RETRY_SECONDS = 5.0


class ResilientWorker(Worker):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._retry_delay = FIRST_RETRY_SECONDS
        self._failing = False

    async def _poll_iteration(self) -> None:
        try:
            await super()._poll_iteration()
        except (RedisError, OSError) as error:
            if not self._failing:
                log.warning("worker lost Redis; retrying", extra={"error": repr(error)})
                metrics.record_reconnect("worker", "lost")
            self._failing = True
            await asyncio.sleep(self._retry_delay)
            self._retry_delay = min(self._retry_delay * 2, LAST_RETRY_SECONDS)
            return
        if self._failing:
            log.info("worker reached Redis again")
            metrics.record_reconnect("worker", "recovered")
        self._failing = False
        self._retry_delay = FIRST_RETRY_SECONDS

    async def run_cron(self, n: datetime, delay: float, num_windows: int = 2) -> None:
        for cron_job in self.cron_jobs:
            _skip_to_latest_missed(cron_job, n)
        planned = [(cron_job, cron_job.next_run) for cron_job in self.cron_jobs]
        try:
            await super().run_cron(n, delay, num_windows)
        except BaseException:
            # Not enqueued (or not known to be): plan the same ticks again. A tick that
            # did reach Redis is refused the second time by its unique job id.
            for cron_job, next_run in planned:
                cron_job.next_run = next_run
            raise


def _skip_to_latest_missed(cron_job: Any, now: datetime) -> None:
    """Move a cron job's next run forward to its latest tick at or before `now`."""
    previous = cron_job.next_run
    if previous is None or previous >= now:
        return
    while True:
        cron_job.calculate_next(previous)
        if cron_job.next_run > now:
            cron_job.next_run = previous
            return
        previous = cron_job.next_run
