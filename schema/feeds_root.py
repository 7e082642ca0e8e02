"""Feed ingestion root fields, for staff (ADMIN) only.

startFeedIngestion records a run (QUEUED) and enqueues the job that applies it; a bad
source, URL scheme, missing file (or one outside FEED_DIRECTORY) or unknown dealer is a
userError naming the input field. feedRun(id:) and feedRuns show runs while they run:
their counts are written every second.
"""

from __future__ import annotations

from typing import Annotated

import strawberry

from auth.permissions import STAFF, requires
from models.feed import FeedRunStatus
from resolvers import feeds
from schema.context import Info
from schema.feeds import (
    FeedRun,
    FeedRunConnection,
    StartFeedIngestionInput,
    StartFeedIngestionPayload,
)
from services.feeds.queries import RunFilter


@strawberry.type
class FeedQuery:
    @strawberry.field(
        description="A feed run by global ID (staff); NOT_FOUND if there is none.",
        extensions=[requires(STAFF)],
    )
    async def feed_run(self, info: Info, id: strawberry.ID) -> FeedRun | None:
        return await feeds.feed_run(info, id)

    @strawberry.field(
        description="Feed runs, newest first, optionally of one source or statuses (staff).",
        extensions=[requires(STAFF)],
    )
    async def feed_runs(
        self, info: Info,
        # Not `source` in Python: permission extensions take a positional `source` already.
        feed_source: Annotated[str | None, strawberry.argument(name="source")] = None,
        status: list[FeedRunStatus] | None = None,
        first: int | None = None, after: str | None = None,
        last: int | None = None, before: str | None = None,
    ) -> FeedRunConnection:  # fmt: skip
        flt = RunFilter(source=feed_source, statuses=tuple(status or ()))
        return await feeds.feed_runs(info, flt, first=first, after=after, last=last, before=before)


@strawberry.type
class FeedMutation:
    @strawberry.mutation(
        description="Ingest a dealer feed (CSV or JSON lines, a file or an http(s) URL) in the "
        "background: returns the QUEUED run to follow with feedRun. Requires ADMIN.",
        extensions=[requires(STAFF)],
    )
    async def start_feed_ingestion(
        self, info: Info, input: StartFeedIngestionInput
    ) -> StartFeedIngestionPayload | None:
        return await feeds.start(info, input)
