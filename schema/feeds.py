"""Feed ingestion types: FeedRun (a Node), its counts and rejected rows, input, payload."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import strawberry

from models.feed import FeedFormat, FeedRunStatus
from schema.catalog import Dealer
from schema.context import Info
from schema.errors import BadUserInputError
from schema.ids import decode_int_id, to_global_id
from schema.node import Node
from schema.pagination import DEFAULT_PAGE_SIZE, PageInfo, validate_page_args
from schema.payloads import UserError
from services.errors import InvalidArgumentError
from services.feeds.queries import RUN_CURSOR_REFUSED
from services.pagination import decode_text_cursor, encode_text_cursor

FeedRunStatusEnum = strawberry.enum(
    FeedRunStatus,
    description="QUEUED (recorded, waiting for a worker), RUNNING, SUCCEEDED or FAILED.",
)
FeedFormatEnum = strawberry.enum(FeedFormat, description="CSV with a header, or JSON lines.")


@strawberry.type(description="What a feed run did, so far while it runs, in total once done.")
class FeedRunCounts:
    rows_read: int = strawberry.field(description="Rows read (header and blank lines aside).")
    created: int = strawberry.field(description="New vehicles listed.")
    updated: int = strawberry.field(description="Vehicles whose values changed (or came back).")
    unchanged: int = strawberry.field(description="Rows equal to their vehicle: not written.")
    withdrawn: int = strawberry.field(description="The source's vehicles no longer in the feed.")
    rejected: int = strawberry.field(description="Rows not applied; see rejectedRows.")


_COUNTS = ("rows_read", "created", "updated", "unchanged", "withdrawn", "rejected")


@strawberry.type(description="One reason a row was rejected.")
class FeedRowProblem:
    field: str = strawberry.field(description="The feed column at fault, or `line`.")
    code: str = strawberry.field(description="Stable code, e.g. VIN_INVALID, DUPLICATE_VIN.")
    message: str


@strawberry.type(description="A feed row that was not applied, and every reason why.")
class FeedRejection:
    line: int = strawberry.field(description="The row's (first) line in the feed, from 1.")
    external_id: str | None
    reasons: list[FeedRowProblem]

    @classmethod
    def from_row(cls, row: Any) -> FeedRejection:
        return cls(
            line=row["line"],
            external_id=row["external_id"],
            reasons=[FeedRowProblem(**reason) for reason in row["reasons"]],
        )


@strawberry.type
class FeedRejectionEdge:
    cursor: str
    node: FeedRejection


@strawberry.type(description="A page of a run's rejected rows, in line order.")
class FeedRejectionConnection:
    edges: list[FeedRejectionEdge]
    page_info: PageInfo
    count: strawberry.Private[Callable[[], Awaitable[int]]]

    @strawberry.field(description="How many rejected rows are kept (the first 10,000).")
    async def total_count(self) -> int:
        return await self.count()


def line_cursor(line: int) -> str:
    return encode_text_cursor(f"line:{line}".encode(), padded=True)


def decode_line_cursor(cursor: str) -> int:
    refused = BadUserInputError(f"after: {RUN_CURSOR_REFUSED}", field="after")
    try:
        key = decode_text_cursor(cursor, argument="after").decode()
    except (InvalidArgumentError, UnicodeError):
        raise refused from None
    kind, _, line = key.partition(":")
    if kind == "line" and line.isascii() and line.isdigit():
        return int(line)
    raise refused


@strawberry.type(description="One ingestion of a dealer feed: its status, counts and rejects.")
class FeedRun(Node):
    source: str = strawberry.field(description="The feed's name; vehicles are keyed by it.")
    url: str = strawberry.field(description="The file path or http(s) URL read.")
    format: FeedFormat | None = strawberry.field(description="Null until detected.")
    status: FeedRunStatus
    counts: FeedRunCounts
    failure_reason: str | None = strawberry.field(
        description="Why the run failed (or, while QUEUED again, why it is being retried)."
    )
    attempts: int = strawberry.field(description="How many times a worker took it up.")
    requested_by: str | None = strawberry.field(description="admin:<id> or cli.")
    queued_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    updated_at: datetime = strawberry.field(description="Last progress written.")
    pk: strawberry.Private[int]
    dealer_pk: strawberry.Private[int | None]

    @classmethod
    def from_row(cls, row: Any) -> FeedRun:
        return cls(
            id=strawberry.ID(to_global_id("FeedRun", row["id"])),
            source=row["source"],
            url=row["url"],
            format=None if row["format"] is None else FeedFormat(row["format"]),
            status=FeedRunStatus(row["status"]),
            counts=FeedRunCounts(**{name: row[name] for name in _COUNTS}),
            failure_reason=row["failure_reason"],
            attempts=row["attempts"],
            requested_by=row["requested_by"],
            queued_at=row["created_at"],
            started_at=row["started_at"],
            finished_at=row["finished_at"],
            updated_at=row["updated_at"],
            pk=row["id"],
            dealer_pk=row["dealer_id"],
        )

    @strawberry.field(description="The dealer of rows without a dealer_id column, if named.")
    async def dealer(self, info: Info) -> Dealer | None:
        if self.dealer_pk is None:
            return None
        row = await info.context.loaders.dealer_by_id.load(self.dealer_pk)
        return None if row is None else Dealer.from_row(row)

    @strawberry.field(description="The rows not applied, in line order (forward pages).")
    async def rejected_rows(
        self, info: Info, first: int | None = DEFAULT_PAGE_SIZE, after: str | None = None
    ) -> FeedRejectionConnection:
        limit, _ = validate_page_args(
            first=first, after=after, last=None, before=None,
            max_page_size=info.context.settings.max_page_size,
        )  # fmt: skip
        after_line = None if after is None else decode_line_cursor(after)
        loaders = info.context.loaders
        rows = await loaders.rejections_by_run_id.load((self.pk, after_line, limit))
        edges = [
            FeedRejectionEdge(cursor=line_cursor(row["line"]), node=FeedRejection.from_row(row))
            for row in rows[:limit]
        ]
        run_pk = self.pk

        async def count() -> int:
            return await loaders.rejection_count_by_run_id.load(run_pk)

        return FeedRejectionConnection(
            edges=edges,
            page_info=PageInfo.of(
                edges, has_next_page=len(rows) > limit, has_previous_page=after is not None
            ),
            count=count,
        )


@strawberry.type
class FeedRunEdge:
    cursor: str
    node: FeedRun


@strawberry.type(description="A page of feed runs, newest first (Relay connection).")
class FeedRunConnection:
    edges: list[FeedRunEdge]
    page_info: PageInfo
    count: strawberry.Private[Callable[[], Awaitable[int]]]

    @strawberry.field(description="How many runs match, on every page together.")
    async def total_count(self) -> int:
        return await self.count()


@strawberry.input(description="A feed to ingest.")
class StartFeedIngestionInput:
    source: str = strawberry.field(
        description="The feed's name (letters, digits, . _ -): vehicles are upserted by "
        "(source, external id), and the source's vehicles missing from the feed withdrawn."
    )
    url: str = strawberry.field(
        description="An http(s) URL, or a file path (or file:// URL) inside the API's feed "
        "directory (FEED_DIRECTORY)."
    )
    dealer_id: strawberry.ID | None = strawberry.field(
        default=None, description="The dealer of rows that have no dealer_id column."
    )
    format: FeedFormat | None = strawberry.field(
        default=None, description="Default: from the extension or Content-Type, else the content."
    )

    def dealer_key(self) -> int | None:
        if self.dealer_id is None:
            return None
        return decode_int_id(self.dealer_id, "Dealer", field="dealerId")


@strawberry.type
class StartFeedIngestionPayload:
    feed_run: FeedRun | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)
