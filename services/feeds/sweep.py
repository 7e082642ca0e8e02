"""The sweep: no recorded feed run is lost, whatever happened to its job.

A run needs a new job when
- it is QUEUED for longer than `queued_grace` and its job is not waiting in the queue
  (the process died between commit and enqueue, or Redis lost its queue), or
- it is RUNNING with an expired lease (its worker was killed, or lost its database or
  Redis) and no newer job of it is waiting.
The new job gets the next id (`feed-run:<id>:<n+1>`), so arq never mistakes it for the
old one, which may still linger as "in progress" for a while. The claim's lease makes
any number of jobs for one run apply it once; a run whose attempts are spent FAILS.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from models.base import utcnow
from models.feed import FeedRunStatus
from services.feeds.runs import (
    MAX_ATTEMPTS,
    JobQueue,
    enqueue_run,
    fail_exhausted,
    feed_run,
    job_id,
)

QUEUED_GRACE = timedelta(minutes=1)
SWEEP_BATCH = 100


@dataclass(slots=True)
class SweepReport:
    requeued: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)


async def sweep_unfinished(
    engine: AsyncEngine,
    queue: JobQueue,
    *,
    now: datetime | None = None,
    queued_grace: timedelta = QUEUED_GRACE,
) -> SweepReport:
    """Re-enqueue the runs that no worker is finishing; fail those out of attempts."""
    now = now or utcnow()
    c = feed_run.c
    lapsed = sa.and_(c.status == FeedRunStatus.RUNNING.value, c.lease_until < now)
    stale = sa.and_(c.status == FeedRunStatus.QUEUED.value, c.enqueued_at < now - queued_grace)
    report = SweepReport()
    async with engine.begin() as conn:
        report.failed = await fail_exhausted(conn, sa.and_(lapsed, c.attempts >= MAX_ATTEMPTS), now)
        due = (await conn.execute(
            sa.select(c.id, c.enqueues).where(sa.or_(lapsed, stale))
            .order_by(c.id).limit(SWEEP_BATCH)
        )).all()  # fmt: skip
    for run_id, enqueues in due:
        if await queue.is_waiting(job_id(run_id, enqueues)):
            continue
        async with engine.begin() as conn:
            bumped = await conn.scalar(
                feed_run.update()
                .where(c.id == run_id, c.enqueues == enqueues, sa.or_(lapsed, stale))
                .values(enqueues=c.enqueues + 1, enqueued_at=now)
                .returning(c.enqueues)
            )
        if bumped is not None and await enqueue_run(queue, run_id, bumped):
            report.requeued.append(run_id)
    return report
