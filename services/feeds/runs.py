"""A feed run's life as a durable job: recorded, enqueued, claimed under a lease, finished.

    create_run   QUEUED, committed before its job is enqueued (job id feed-run:<id>:<n>)
    claim_run    QUEUED, or RUNNING with an expired lease -> RUNNING with a fresh lease
                 token; one UPDATE … RETURNING, so of two workers exactly one wins
    renew_lease  the holder writes its progress and pushes lease_until on, every second
    finish_run   SUCCEEDED with the final counts, in the transaction of the run's effects,
                 only while the token still holds (else that transaction rolls back)
    fail_run     FAILED with a reason; release_run: back to QUEUED for a retry
    sweep.py     re-enqueues the runs no worker is finishing

Times come from the caller (`now`), so tests move the clock instead of sleeping.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

import sqlalchemy as sa
from redis.exceptions import RedisError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from models.base import utcnow
from models.dealer import Dealer
from models.feed import FeedFormat, FeedRun, FeedRunStatus
from services.errors import FieldProblem
from services.feeds.addresses import IPNetwork
from services.feeds.errors import StartRefusedError
from services.feeds.sources import check_location, check_url_host

log = logging.getLogger("autobroker.feeds")

feed_run: sa.Table = FeedRun.__table__  # type: ignore[attr-defined]
dealer_table: sa.Table = Dealer.__table__  # type: ignore[attr-defined]

INGEST_JOB = "ingest_feed"
MAX_ATTEMPTS = 5
DEFAULT_LEASE = timedelta(seconds=60)
_SOURCE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._\-]{0,59}")


class JobQueue(Protocol):
    """Where jobs are enqueued (arq on Redis, core/job_queue.py)."""

    async def enqueue(self, function: str, *args: Any, job_id: str) -> bool:
        """Enqueue unless a job with this id is known; whether it was enqueued."""

    async def is_waiting(self, job_id: str) -> bool:
        """Whether the job is queued (or deferred for a retry) and no worker has started it."""


def job_id(run_id: int, enqueues: int) -> str:
    """The arq job id of a run's `enqueues`-th job: arq ignores a second one with it."""
    return f"feed-run:{run_id}:{enqueues}"


@dataclass(slots=True)
class FeedCounts:
    """What a run has done so far (and, once it ends, in total)."""

    rows_read: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    withdrawn: int = 0
    rejected: int = 0

    def as_values(self) -> dict[str, int]:
        """The counts as feed_run column values."""
        return {field.name: getattr(self, field.name) for field in fields(self)}


@dataclass(frozen=True, slots=True)
class Claim:
    """A worker's hold on a run: the run's facts and the lease token that proves it."""

    run_id: int
    token: str
    source: str
    url: str
    format: FeedFormat | None
    dealer_id: int | None
    attempt: int


async def enqueue_run(queue: JobQueue, run_id: int, enqueues: int) -> bool:
    """Enqueue the run's job; a Redis failure is logged (the sweep enqueues it later)."""
    try:
        return await queue.enqueue(INGEST_JOB, run_id, job_id=job_id(run_id, enqueues))
    except (RedisError, OSError) as error:
        log.warning("feed run not enqueued", extra={"run_id": run_id, "error": repr(error)})
        return False


async def create_run(
    engine: AsyncEngine,
    *,
    source: str,
    url: str,
    dealer_id: int | None = None,
    feed_format: FeedFormat | None = None,
    requested_by: str | None = None,
    allowed_directory: Path | None = None,
    allowed_networks: Sequence[IPNetwork] = (),
) -> Any:
    """Record a QUEUED run (committed); `StartRefusedError` naming the field at fault."""
    if not _SOURCE.fullmatch(source):
        raise StartRefusedError(FieldProblem(
            "source", "SOURCE_INVALID", "1 to 60 letters, digits, '.', '_' or '-'."
        ))  # fmt: skip
    location = check_location(url, allowed_directory=allowed_directory)
    await check_url_host(location, allowed_networks)
    async with engine.begin() as conn:
        if dealer_id is not None:
            found = await conn.scalar(
                sa.select(dealer_table.c.id).where(dealer_table.c.id == dealer_id)
            )
            if found is None:
                raise StartRefusedError(
                    FieldProblem("dealer_id", "DEALER_NOT_FOUND", "No such dealer.")
                )
        statement = (
            feed_run.insert()
            .values(source=source, url=str(location.path or location.url), dealer_id=dealer_id,
                    format=None if feed_format is None else feed_format.value,
                    requested_by=requested_by, status=FeedRunStatus.QUEUED.value)
            .returning(*feed_run.c)
        )  # fmt: skip
        return (await conn.execute(statement)).mappings().one()


async def start_run(engine: AsyncEngine, queue: JobQueue, **run: Any) -> Any:
    """Record a run (see create_run), then enqueue its job; the run's row, QUEUED."""
    row = await create_run(engine, **run)
    await enqueue_run(queue, row["id"], row["enqueues"])
    return row


async def claim_run(
    engine: AsyncEngine,
    run_id: int,
    *,
    lease: timedelta = DEFAULT_LEASE,
    now: datetime | None = None,
) -> Claim | None:
    """Take the run if it is QUEUED or its lease has expired; None if another worker has it,
    it is finished, or it has used its attempts (it then FAILS)."""
    now = now or utcnow()
    c = feed_run.c
    claimable = sa.or_(
        c.status == FeedRunStatus.QUEUED.value,
        sa.and_(c.status == FeedRunStatus.RUNNING.value, c.lease_until < now),
    )
    token = str(uuid.uuid4())
    async with engine.begin() as conn:
        row = (await conn.execute(
            feed_run.update()
            .where(c.id == run_id, claimable, c.attempts < MAX_ATTEMPTS)
            .values(status=FeedRunStatus.RUNNING.value, lease_token=token, lease_until=now + lease,
                    attempts=c.attempts + 1, started_at=sa.func.coalesce(c.started_at, now),
                    failure_reason=None, **FeedCounts().as_values())
            .returning(c.id, c.source, c.url, c.format, c.dealer_id, c.attempts)
        )).mappings().first()  # fmt: skip
        if row is None:
            await fail_exhausted(
                conn, sa.and_(c.id == run_id, claimable, c.attempts >= MAX_ATTEMPTS), now
            )
            return None
    return Claim(row["id"], token, row["source"], row["url"],
                 None if row["format"] is None else FeedFormat(row["format"]),
                 row["dealer_id"], row["attempts"])  # fmt: skip


async def fail_exhausted(
    conn: AsyncConnection, where: sa.ColumnElement[bool], now: datetime
) -> list[int]:
    """FAIL the runs `where` selects, out of attempts, keeping their last error; their ids."""
    last = sa.func.coalesce(" (the last: " + feed_run.c.failure_reason + ")", "")
    reason = f"gave up after {MAX_ATTEMPTS} attempts, each stopped before it finished" + last
    result = await conn.execute(
        feed_run.update()
        .where(where)
        .values(status=FeedRunStatus.FAILED.value, failure_reason=reason, finished_at=now,
                lease_token=None, lease_until=None)
        .returning(feed_run.c.id)
    )  # fmt: skip
    return list(result.scalars())


def _held(claim: Claim) -> sa.ColumnElement[bool]:
    return sa.and_(feed_run.c.id == claim.run_id, feed_run.c.lease_token == claim.token)


async def renew_lease(
    engine: AsyncEngine, claim: Claim, counts: FeedCounts, *, feed_format: FeedFormat | None,
    lease: timedelta = DEFAULT_LEASE,
) -> bool:  # fmt: skip
    """Write the run's progress and extend its lease; False if the lease was lost."""
    values: dict[str, Any] = {**counts.as_values(), "lease_until": utcnow() + lease}
    if feed_format is not None:
        values["format"] = feed_format.value
    async with engine.begin() as conn:
        result = await conn.execute(feed_run.update().where(_held(claim)).values(**values))
    return bool(result.rowcount)


async def finish_run(
    conn: AsyncConnection,
    claim: Claim,
    counts: FeedCounts,
    feed_format: FeedFormat,
    *,
    failure_reason: str | None = None,
) -> bool:
    """Mark the run SUCCEEDED (FAILED with a reason) in the caller's transaction; False if
    the lease was lost."""
    status = FeedRunStatus.SUCCEEDED if failure_reason is None else FeedRunStatus.FAILED
    result = await conn.execute(
        feed_run.update()
        .where(_held(claim))
        .values(status=status.value, format=feed_format.value, failure_reason=failure_reason,
                finished_at=utcnow(), lease_token=None, lease_until=None, **counts.as_values())
    )  # fmt: skip
    return bool(result.rowcount)


async def fail_run(engine: AsyncEngine, claim: Claim, reason: str, counts: FeedCounts) -> bool:
    """Mark the run FAILED with `reason` (its effects were rolled back: counts from reading)."""
    values = {**counts.as_values(), "created": 0, "updated": 0, "unchanged": 0, "withdrawn": 0}
    async with engine.begin() as conn:
        result = await conn.execute(
            feed_run.update()
            .where(_held(claim))
            .values(status=FeedRunStatus.FAILED.value, failure_reason=reason[:2000],
                    finished_at=utcnow(), lease_token=None, lease_until=None, **values)
        )  # fmt: skip
    return bool(result.rowcount)


async def release_run(engine: AsyncEngine, claim: Claim, reason: str) -> bool:
    """Hand the run back (QUEUED) for a retry; its attempts stay counted."""
    async with engine.begin() as conn:
        result = await conn.execute(
            feed_run.update()
            .where(_held(claim))
            .values(status=FeedRunStatus.QUEUED.value, lease_token=None, lease_until=None,
                    failure_reason=f"retrying: {reason}"[:2000], **FeedCounts().as_values())
        )  # fmt: skip
    return bool(result.rowcount)
