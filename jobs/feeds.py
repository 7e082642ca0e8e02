"""Feed jobs: apply a recorded feed run; sweep the runs no worker is finishing (every minute).

`ingest_feed` is enqueued as `feed-run:<run id>:<n>` (services/feeds/runs.py); any
number of its jobs apply the run once (the claim's lease decides). A feed that cannot be
fetched right now is retried with exponential backoff, `MAX_TRIES` tries in all, then
the run fails with the reason. A run that created or updated at least
VALUATION_RETRAIN_AFTER_FEED_ROWS vehicles queues a valuation retraining. The worker's
job timeout (5 minutes) bounds a run: about
two million rows (bench/ingest.py measures the rate); a longer timeout here would also
delay arq's own recovery of every other job, which waits for the longest timeout.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from arq import Retry

from core.job_queue import ArqJobQueue
from jobs.context import resources
from jobs.valuation import retrain_after_feed
from services.feeds.errors import FeedUnavailableError
from services.feeds.ingest import ingest_run
from services.feeds.sweep import sweep_unfinished
from services.photos.feed_images import FETCH_JOB

log = logging.getLogger(__name__)

MAX_TRIES = 5
RETRY_BASE_SECONDS = 10


async def ingest_feed_job(ctx: dict[str, Any], run_id: int) -> dict[str, Any]:
    """Apply feed run `run_id`, unless another worker has it or it is finished."""
    res = resources(ctx)
    job_try: int = ctx.get("job_try", 1)
    try:
        outcome = await ingest_run(
            res.database.engine,
            res.redis,
            run_id,
            lease=timedelta(seconds=res.settings.feed_lease_seconds),
            retry_unavailable=job_try < MAX_TRIES,
            allowed_networks=res.settings.feed_allowed_networks,
        )
    except FeedUnavailableError as error:
        defer = RETRY_BASE_SECONDS * 2 ** (job_try - 1)
        log.warning("feed unavailable; retrying", extra={"job": "ingest_feed", "run_id": run_id,
                    "try": job_try, "retry_in": defer, "reason": error.reason})  # fmt: skip
        raise Retry(defer=defer) from None
    if outcome is None:
        log.info(
            "feed run skipped: finished or taken", extra={"job": "ingest_feed", "run_id": run_id}
        )
        return {"run_id": run_id, "status": "SKIPPED"}
    queue = ArqJobQueue(res.redis)
    for vehicle_id, urls in outcome.photo_requests:
        # One job per vehicle and picture list: a feed run listing them again (a retry,
        # the next day's feed) finds them in the gallery and fetches nothing.
        await queue.enqueue(FETCH_JOB, vehicle_id, list(urls),
                            job_id=f"feed-photos:{run_id}:{vehicle_id}")  # fmt: skip
    result = {"run_id": run_id, "status": outcome.status.value, **outcome.counts.as_values()}
    # Not **result: LogRecord owns the attribute name "created".
    extra = {"job": "ingest_feed", "counts": result, "reason": outcome.failure_reason}
    log.info("feed run %s", outcome.status.value.lower(), extra=extra)
    await retrain_after_feed(ctx, run_id, outcome.counts.created + outcome.counts.updated)
    return result


async def sweep_unfinished_job(ctx: dict[str, Any]) -> dict[str, list[int]]:
    """Re-enqueue the feed runs no worker is finishing."""
    res = resources(ctx)
    report = await sweep_unfinished(res.database.engine, ArqJobQueue(res.redis))
    if report.requeued or report.failed:
        swept = {"requeued": report.requeued, "failed": report.failed}
        log.warning("feed runs swept", extra={"job": "sweep_unfinished", **swept})
    else:
        log.info("feed runs swept: none unfinished", extra={"job": "sweep_unfinished"})
    return {"requeued": report.requeued, "failed": report.failed}
