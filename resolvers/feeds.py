"""Feed run fields: startFeedIngestion, feedRun, feedRuns (staff)."""

from __future__ import annotations

from functools import partial

from core.job_queue import ArqJobQueue
from schema.context import Info
from schema.errors import NotFoundError
from schema.feeds import (
    FeedRun,
    FeedRunConnection,
    FeedRunEdge,
    StartFeedIngestionInput,
    StartFeedIngestionPayload,
)
from schema.ids import decode_int_id
from schema.pagination import PageInfo, decode_or_bad_input, validate_page_args
from schema.payloads import refusal_errors
from services.feeds import queries
from services.feeds.errors import StartRefusedError
from services.feeds.runs import start_run

_INPUT_FIELDS = {"source": "source", "url": "url", "dealer_id": "dealerId"}


async def start(info: Info, input: StartFeedIngestionInput) -> StartFeedIngestionPayload:
    """Record the run and enqueue its job; refusals name the input field."""
    ctx = info.context
    try:
        row = await start_run(
            await ctx.db.for_writes(), ArqJobQueue(ctx.redis), source=input.source,
            url=input.url, dealer_id=input.dealer_key(), feed_format=input.format,
            requested_by=f"admin:{ctx.principal.user_id}",
            allowed_directory=ctx.settings.feeds_path,
            allowed_networks=ctx.settings.feed_allowed_networks,
        )  # fmt: skip
    except StartRefusedError as error:
        return StartFeedIngestionPayload(user_errors=refusal_errors(error, _INPUT_FIELDS))
    ctx.loaders.feed_run_by_id.prime(row["id"], row)
    return StartFeedIngestionPayload(feed_run=FeedRun.from_row(row))


async def feed_run(info: Info, id: str) -> FeedRun:
    row = await info.context.loaders.feed_run_by_id.load(decode_int_id(id, "FeedRun"))
    if row is None:
        raise NotFoundError(f"no feed run with id {id}", field="id")
    return FeedRun.from_row(row)


async def feed_runs(
    info: Info, flt: queries.RunFilter, *,
    first: int | None, after: str | None, last: int | None, before: str | None,
) -> FeedRunConnection:  # fmt: skip
    """Runs, newest first, filtered by source and status."""
    limit, backwards = validate_page_args(
        first=first, after=after, last=last, before=before,
        max_page_size=info.context.settings.max_page_size,
    )  # fmt: skip
    decode = queries.decode_run_cursor
    conn = await info.context.db.get()
    page = await queries.fetch_run_page(
        conn, flt, limit=limit, backwards=backwards,
        after=decode_or_bad_input(partial(decode, argument="after"), after),
        before=decode_or_bad_input(partial(decode, argument="before"), before),
    )  # fmt: skip
    for row in page.rows:
        info.context.loaders.feed_run_by_id.prime(row["id"], row)
    edges = [FeedRunEdge(cursor=queries.encode_run_cursor(r), node=FeedRun.from_row(r))
             for r in page.rows]  # fmt: skip

    async def count() -> int:
        return await queries.count_runs(await info.context.db.get(), flt)

    return FeedRunConnection(
        edges=edges,
        page_info=PageInfo.of(
            edges, has_next_page=page.has_next_page, has_previous_page=page.has_previous_page
        ),
        count=count,
    )
