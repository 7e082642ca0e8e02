"""Feed ingestion runs and the rows they rejected.

A `FeedRun` is also the durable record of the job that applies it: it is committed
(QUEUED) before the job is enqueued, a worker claims it with a lease (RUNNING, a fresh
`lease_token`, `lease_until` renewed while it works), and it ends SUCCEEDED or FAILED.
`enqueues` counts the jobs made for it: the arq job id is `feed-run:<id>:<enqueues>`, so
a re-enqueue by the sweep is never swallowed by arq's de-duplication of an older job.
Counts are written while the run works (progress) and, final, in the same transaction
as the run's effects.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlmodel import Field, SQLModel

from models.base import created_at_field, updated_at_field


class FeedRunStatus(enum.StrEnum):
    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


class FeedFormat(enum.StrEnum):
    CSV = "CSV"
    JSONL = "JSONL"


def _in(column: str, values: type[enum.StrEnum]) -> str:
    return f"{column} IN ({', '.join(repr(str(v)) for v in values)})"


def _aware() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def _count() -> Any:
    return Field(default=0, nullable=False, sa_column_kwargs={"server_default": "0"})


class FeedRun(SQLModel, table=True):
    __tablename__ = "feed_run"
    __table_args__ = (
        sa.CheckConstraint(_in("status", FeedRunStatus), name="feed_run_status_known"),
        sa.CheckConstraint(_in("format", FeedFormat), name="feed_run_format_known"),
        sa.CheckConstraint(
            "rows_read >= 0 AND created >= 0 AND updated >= 0 AND unchanged >= 0 "
            "AND withdrawn >= 0 AND rejected >= 0",
            name="feed_run_counts_not_negative",
        ),
        sa.CheckConstraint("attempts >= 0 AND enqueues >= 1", name="feed_run_attempts_valid"),
        # feedRuns(source:): newest first, per source and overall.
        sa.Index("ix_feed_run_source_created", "source", "created_at", "id"),
        sa.Index("ix_feed_run_created", "created_at", "id"),
        # The sweep reads the unfinished runs only.
        sa.Index(
            "ix_feed_run_unfinished",
            "status",
            "lease_until",
            postgresql_where=sa.text("status IN ('QUEUED', 'RUNNING')"),
        ),
    )

    id: int | None = Field(default=None, sa_type=sa.BigInteger, primary_key=True)
    source: str = Field(max_length=60, nullable=False)
    url: str = Field(max_length=2000, nullable=False)
    # Declared by the caller, or detected when the run starts reading.
    format: str | None = Field(default=None, max_length=10)
    # The dealer of rows that name none (the feed's `dealer_id` column wins).
    dealer_id: int | None = Field(
        default=None, sa_type=sa.BigInteger, foreign_key="dealer.id", ondelete="RESTRICT"
    )
    requested_by: str | None = Field(default=None, max_length=60)
    status: str = Field(max_length=20, nullable=False, default=FeedRunStatus.QUEUED.value)
    rows_read: int = _count()
    created: int = _count()
    updated: int = _count()
    unchanged: int = _count()
    withdrawn: int = _count()
    rejected: int = _count()
    failure_reason: str | None = Field(default=None, sa_type=sa.Text)
    attempts: int = _count()
    enqueues: int = Field(default=1, nullable=False, sa_column_kwargs={"server_default": "1"})
    lease_token: str | None = Field(default=None, sa_type=postgresql.UUID(as_uuid=False))
    lease_until: datetime | None = Field(default=None, sa_type=_aware())
    enqueued_at: datetime = Field(
        sa_type=_aware(), nullable=False, sa_column_kwargs={"server_default": sa.func.now()}
    )
    started_at: datetime | None = Field(default=None, sa_type=_aware())
    finished_at: datetime | None = Field(default=None, sa_type=_aware())
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()


class FeedRejection(SQLModel, table=True):
    """A feed row the run did not apply, and why: {field, code, message} per reason."""

    __tablename__ = "feed_rejection"

    run_id: int = Field(
        sa_type=sa.BigInteger, foreign_key="feed_run.id", primary_key=True, ondelete="CASCADE"
    )
    line: int = Field(primary_key=True, description="The row's first line in the feed (1-based).")
    external_id: str | None = Field(default=None, max_length=120)
    reasons: list[dict[str, Any]] = Field(sa_type=postgresql.JSONB, nullable=False)
