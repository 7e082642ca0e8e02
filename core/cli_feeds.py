"""`autobroker ingest FILE_OR_URL --source NAME`: a feed run, applied in this process.

The run is recorded first (as startFeedIngestion records it) and then applied here, with
a progress bar, without a worker; a feed that cannot be fetched fails the run at once
(a worker would retry it). Were this process killed, the run would stay in the database
and a worker's sweep would finish it.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Annotated, Any

import typer

from core.cli import DataDirOption, _fail, _load_settings, _servers, app
from core.settings import Settings

if TYPE_CHECKING:
    from services.feeds.ingest import IngestOutcome

SHOWN_REJECTIONS = 10


def _bar() -> Any:
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    return Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        DownloadColumn(),
        TextColumn("{task.fields[rows]:,} rows"),
        TimeRemainingColumn(),
    )


async def _ingest(
    settings: Settings, url: str, source: str, dealer: int | None, feed_format: Any
) -> tuple[Any, IngestOutcome | None, list[Any]]:
    from datetime import timedelta

    from core.db import create_engine
    from core.redis import create_redis
    from services.feeds.ingest import Progress, ingest_run
    from services.feeds.queries import fetch_rejections
    from services.feeds.runs import create_run

    assert settings.redis_url is not None
    engine, redis = create_engine(settings), create_redis(settings.redis_url)
    try:
        run = await create_run(engine, source=source, url=url, dealer_id=dealer,
                               feed_format=feed_format, requested_by="cli",
                               allowed_networks=settings.feed_allowed_networks)  # fmt: skip
        with _bar() as bar:
            task = bar.add_task(f"feed run {run['id']}", total=None, rows=0)

            def show(progress: Progress) -> None:
                bar.update(task, completed=progress.bytes_read, total=progress.total_bytes,
                           rows=progress.counts.rows_read)  # fmt: skip

            lease = timedelta(seconds=settings.feed_lease_seconds)
            outcome = await ingest_run(engine, redis, run["id"], lease=lease, on_progress=show,
                                       retry_unavailable=False,
                                       allowed_networks=settings.feed_allowed_networks)  # fmt: skip
        async with engine.connect() as conn:
            found = await fetch_rejections(
                conn, [run["id"]], after_line=None, limit=SHOWN_REJECTIONS
            )
        return run, outcome, found.get(run["id"], [])[:SHOWN_REJECTIONS]
    finally:
        await redis.aclose()
        await engine.dispose()


@app.command()
def ingest(
    feed: Annotated[str, typer.Argument(help="A CSV or JSON-lines file, or an http(s) URL.")],
    source: Annotated[str, typer.Option(help="The feed's name: vehicles are keyed by it.")],
    dealer: Annotated[
        int | None, typer.Option(help="Dealer id of rows without a dealer_id column.")
    ] = None,
    feed_format: Annotated[
        str | None, typer.Option("--format", help="csv or jsonl (default: detected).")
    ] = None,
    data_dir: DataDirOption = None,
) -> None:
    """Ingest a dealer feed: upsert its vehicles, withdraw those that left it, report."""
    from core.migrate import upgrade_to_head
    from models.feed import FeedFormat
    from services.feeds.errors import StartRefusedError

    chosen = None
    if feed_format is not None:
        names = {"csv": FeedFormat.CSV, "jsonl": FeedFormat.JSONL}
        if feed_format.lower() not in names:
            raise _fail("--format: csv or jsonl")
        chosen = names[feed_format.lower()]
    with _servers(_load_settings(), data_dir) as settings:
        assert settings.database_url is not None
        upgrade_to_head(settings.database_url)
        try:
            run, outcome, rejections = asyncio.run(_ingest(settings, feed, source, dealer, chosen))
        except StartRefusedError as error:
            name = {"url": "FEED", "dealer_id": "--dealer"}.get(error.problem.field, "--source")
            raise _fail(f"{name}: {error.problem.message}") from None
    if outcome is None:
        raise _fail(f"feed run {run['id']} was taken over by a worker")
    counts = outcome.counts
    typer.echo(
        f"feed run {run['id']} {outcome.status.value}: {counts.rows_read:,} rows read, "
        f"{counts.created:,} created, {counts.updated:,} updated, {counts.unchanged:,} unchanged, "
        f"{counts.withdrawn:,} withdrawn, {counts.rejected:,} rejected"
    )
    for row in rejections:
        reasons = "; ".join(f"{r['field']}: {r['message']}" for r in row["reasons"])
        typer.echo(f"  line {row['line']} ({row['external_id'] or 'no external id'}): {reasons}")
    if rejections and counts.rejected > len(rejections):
        typer.echo(f"  … and {counts.rejected - len(rejections):,} more (feedRun in GraphQL)")
    if outcome.failure_reason is not None:
        raise _fail(f"feed run {run['id']} failed: {outcome.failure_reason}")
