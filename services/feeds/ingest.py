"""Running one feed run: claim it, read and apply the feed, withdraw, finish.

All of a run's effects (vehicles created, updated and withdrawn, rejected rows, the final
counts and SUCCEEDED) commit in one transaction, or none do: a run that fails, loses its
lease, or whose worker is killed leaves the catalog as it was, and a retry starts from
the top and counts exactly. Progress (rows read, counts so far) is written beside it
every second by a heartbeat that also renews the lease, so `feedRun` shows a run as it
runs; a heartbeat that finds the lease taken stops the run at its next batch. Runs of
one source take turns (a transaction-level advisory lock per source).

    FeedError            -> FAILED with its reason; nothing withdrawn
    FeedUnavailableError -> handed back (QUEUED) and re-raised: the job retries later
    LeaseLostError       -> None: another worker has the run
    anything else        -> handed back and re-raised; the sweep re-enqueues it
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import TypeVar

import sqlalchemy as sa
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from models.base import utcnow
from models.feed import FeedFormat, FeedRunStatus
from services.feeds.addresses import IPNetwork
from services.feeds.apply import FeedApplier
from services.feeds.errors import (
    FeedError,
    FeedUnavailableError,
    FeedUnreadableError,
    LeaseLostError,
)
from services.feeds.parsing import RawRow, read_rows, sniff_format
from services.feeds.runs import (
    DEFAULT_LEASE,
    Claim,
    FeedCounts,
    claim_run,
    fail_run,
    finish_run,
    release_run,
    renew_lease,
)
from services.feeds.sources import open_feed
from services.vehicles.changes import vehicles_changed

log = logging.getLogger("autobroker.feeds")

HEARTBEAT_SECONDS = 1.0
BATCH_ROWS = 2000
_LOCK_CLASS = 0x66656564  # "feed": advisory locks keyed (this, hashtext(source))


@dataclass(frozen=True, slots=True)
class Progress:
    """How far a run is: its counts, and the bytes read of `total_bytes` (None: unknown)."""

    counts: FeedCounts
    bytes_read: int
    total_bytes: int | None


@dataclass(frozen=True, slots=True)
class IngestOutcome:
    """How a run ended."""

    run_id: int
    status: FeedRunStatus
    counts: FeedCounts
    failure_reason: str | None = None
    # (vehicle id, picture URLs) of the rows that list pictures, for the photo job.
    photo_requests: tuple[tuple[int, tuple[str, ...]], ...] = ()


ProgressCallback = Callable[[Progress], None]
T = TypeVar("T")


def _slices(items: Sequence[T], size: int) -> list[Sequence[T]]:
    return [items[start : start + size] for start in range(0, len(items), size)]


class _Heartbeat:
    """Writes progress and renews the lease every second until stopped or the lease is lost."""

    def __init__(
        self, engine: AsyncEngine, claim: Claim, counts: FeedCounts, lease: timedelta
    ) -> None:
        self.engine, self.claim, self.counts, self.lease = engine, claim, counts, lease
        self.format: FeedFormat | None = None
        self.lost = False

    async def beat(self) -> None:
        """Until stopped: every second, write progress and renew the lease."""
        while not self.lost:
            await asyncio.sleep(HEARTBEAT_SECONDS)
            try:
                held = await renew_lease(
                    self.engine,
                    self.claim,
                    replace(self.counts),
                    feed_format=self.format,
                    lease=self.lease,
                )
            except Exception as error:  # noqa: BLE001 - keep beating; the lease decides
                log.warning(
                    "feed run heartbeat failed",
                    extra={"run_id": self.claim.run_id, "error": repr(error)},
                )
                continue
            self.lost = not held


async def ingest_run(
    engine: AsyncEngine,
    redis: Redis,
    run_id: int,
    *,
    lease: timedelta = DEFAULT_LEASE,
    on_progress: ProgressCallback | None = None,
    retry_unavailable: bool = True,
    allowed_networks: Sequence[IPNetwork] = (),
) -> IngestOutcome | None:
    """Claim and run the feed run; None when another worker has it or it is finished.

    With `retry_unavailable` false (the job's last try), a feed that cannot be fetched
    right now fails the run instead of handing it back.
    """
    claim = await claim_run(engine, run_id, lease=lease)
    if claim is None:
        return None
    counts = FeedCounts()
    heartbeat = _Heartbeat(engine, claim, counts, lease)
    beating = asyncio.create_task(heartbeat.beat())
    try:
        try:
            changed, refused, pictures = await _apply_feed(
                engine, claim, counts, heartbeat, on_progress, allowed_networks
            )
        except FeedUnavailableError as error:
            if retry_unavailable:
                raise
            raise FeedError(f"{error.reason} (after {claim.attempt} attempts)") from None
    except FeedError as error:
        await fail_run(engine, claim, error.reason, counts)
        log.warning("feed run failed", extra={"run_id": run_id, "reason": error.reason})
        return IngestOutcome(run_id, FeedRunStatus.FAILED, counts, error.reason)
    except LeaseLostError:
        log.warning("feed run lease lost; another worker has it", extra={"run_id": run_id})
        return None
    except BaseException as error:
        reason = error.reason if isinstance(error, FeedUnavailableError) else repr(error)
        with contextlib.suppress(Exception):
            await release_run(engine, claim, reason)
        raise
    finally:
        beating.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await beating
    if changed or counts.created:
        await vehicles_changed(redis, changed, groups=None)
    if refused is not None:
        log.warning("feed run failed", extra={"run_id": run_id, "reason": refused})
        return IngestOutcome(run_id, FeedRunStatus.FAILED, counts, refused)
    requests = await _photo_requests(engine, claim.source, pictures)
    return IngestOutcome(run_id, FeedRunStatus.SUCCEEDED, counts, photo_requests=requests)


async def _photo_requests(
    engine: AsyncEngine, source: str, pictures: dict[str, tuple[str, ...]]
) -> tuple[tuple[int, tuple[str, ...]], ...]:
    """The listed vehicles' ids beside their picture URLs (withdrawn ones left out)."""
    if not pictures:
        return ()
    async with engine.connect() as conn:
        rows = await conn.execute(
            sa.text(
                "SELECT id, external_id FROM vehicle WHERE source = :source "
                "AND external_id = ANY(:ids) AND status <> 'WITHDRAWN' ORDER BY id"
            ),
            {"source": source, "ids": list(pictures)},
        )
        return tuple((row.id, pictures[row.external_id]) for row in rows)


async def _counting(chunks: AsyncIterator[bytes], read: list[int]) -> AsyncIterator[bytes]:
    async for chunk in chunks:
        read[0] += len(chunk)
        yield chunk


async def _pipeline(
    applier: FeedApplier,
    batches: AsyncIterator[list[RawRow]],
    heartbeat: _Heartbeat,
    report: Callable[[], None],
) -> None:
    """Screen each batch in a thread while the previous one is written: normalising rows
    (CPU) and PostgreSQL's work on the writes (another process) overlap."""
    writing: asyncio.Task[None] | None = None
    try:
        async for rows in batches:
            for part in _slices(rows, BATCH_ROWS):
                screened = await asyncio.to_thread(applier.screen, part)
                if writing is not None:
                    await writing
                writing = asyncio.create_task(applier.write(screened))
            if heartbeat.lost:
                raise LeaseLostError
            report()
        if writing is not None:
            await writing
    finally:
        if writing is not None and not writing.done():
            # Let the statement in flight finish before the transaction rolls back.
            await asyncio.gather(writing, return_exceptions=True)


async def _apply_feed(
    engine: AsyncEngine,
    claim: Claim,
    counts: FeedCounts,
    heartbeat: _Heartbeat,
    on_progress: ProgressCallback | None,
    allowed_networks: Sequence[IPNetwork],
) -> tuple[list[int], str | None, dict[str, tuple[str, ...]]]:
    """Apply the whole feed in one transaction: the ids of the vehicles it changed, why
    the run failed if every row was rejected (then nothing is applied or withdrawn), and
    the pictures each row listed."""
    async with engine.begin() as conn:
        await conn.execute(
            sa.text("SELECT pg_advisory_xact_lock(:lock_class, hashtext(:source))"),
            {"lock_class": _LOCK_CLASS, "source": claim.source},
        )
        applier = FeedApplier(conn, claim.source, claim.dealer_id, counts, utcnow().date())
        async with open_feed(claim.url, allowed_networks=allowed_networks) as feed:
            read = [0]
            chunks = _counting(feed.chunks, read)
            feed_format = claim.format or feed.format
            if feed_format is None:
                feed_format, chunks = await sniff_format(chunks)
            heartbeat.format = feed_format
            size = feed.size

            def report() -> None:
                if on_progress is not None:
                    on_progress(Progress(replace(counts), read[0], size))

            await _pipeline(applier, read_rows(chunks, feed_format), heartbeat, report)
        if counts.rows_read == 0:
            raise FeedUnreadableError("the feed has no rows (so nothing is withdrawn)")
        refused = None
        if counts.rejected == counts.rows_read:
            # A feed whose every row is refused is a broken export, not an empty stock.
            refused = f"all {counts.rows_read} rows were rejected, so nothing is withdrawn"
        else:
            await applier.withdraw_missing()
        await applier.store_rejections(claim.run_id)
        if not await finish_run(conn, claim, counts, feed_format, failure_reason=refused):
            raise LeaseLostError
    return applier.changed_ids, refused, applier.image_urls
