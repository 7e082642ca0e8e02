"""`autobroker worker`, exactly as shipped, plus one test job: `record_run(key, seconds)`
sleeps, then appends "<job id>:<worker pid>" to the Redis list `key`. The shutdown and
replica tests run it as `python -m tests.job_worker` to see which worker ran what, and
how often."""

from __future__ import annotations

import asyncio
import os
import sys
from typing import Any

from arq.worker import func

import jobs.worker
from jobs.context import resources


async def record_run(ctx: dict[str, Any], key: str, seconds: float) -> str:
    await asyncio.sleep(seconds)
    await resources(ctx).redis.rpush(key, f"{ctx['job_id']}:{os.getpid()}")  # type: ignore[misc]
    return "done"


jobs.worker.FUNCTIONS.append(func(record_run, name="record_run", max_tries=5))

if __name__ == "__main__":
    from core.cli import main

    sys.argv = ["autobroker", "worker"]
    main()
