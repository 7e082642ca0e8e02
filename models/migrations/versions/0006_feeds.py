"""feeds: ingestion runs, their rejected rows; quotes by creation time

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UNFINISHED = sa.text("status IN ('QUEUED', 'RUNNING')")


def _count(name: str) -> sa.Column[int]:
    return sa.Column(name, sa.Integer(), server_default="0", nullable=False)


def _aware(name: str, *, now: bool = False) -> sa.Column[object]:
    default = sa.text("now()") if now else None
    return sa.Column(name, sa.DateTime(timezone=True), server_default=default, nullable=not now)


def upgrade() -> None:
    op.create_table(
        "feed_run",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("source", sa.String(length=60), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("format", sa.String(length=10), nullable=True),
        sa.Column("dealer_id", sa.BigInteger(), nullable=True),
        sa.Column("requested_by", sa.String(length=60), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        _count("rows_read"),
        _count("created"),
        _count("updated"),
        _count("unchanged"),
        _count("withdrawn"),
        _count("rejected"),
        sa.Column("failure_reason", sa.Text(), nullable=True),
        _count("attempts"),
        sa.Column("enqueues", sa.Integer(), server_default="1", nullable=False),
        sa.Column("lease_token", sa.UUID(as_uuid=False), nullable=True),
        _aware("lease_until"),
        _aware("enqueued_at", now=True),
        _aware("started_at"),
        _aware("finished_at"),
        _aware("created_at", now=True),
        _aware("updated_at", now=True),
        sa.CheckConstraint("format IN ('CSV', 'JSONL')", name="feed_run_format_known"),
        sa.CheckConstraint(
            "status IN ('QUEUED', 'RUNNING', 'SUCCEEDED', 'FAILED')", name="feed_run_status_known"
        ),
        sa.CheckConstraint("attempts >= 0 AND enqueues >= 1", name="feed_run_attempts_valid"),
        sa.CheckConstraint(
            "rows_read >= 0 AND created >= 0 AND updated >= 0 AND unchanged >= 0 "
            "AND withdrawn >= 0 AND rejected >= 0",
            name="feed_run_counts_not_negative",
        ),
        sa.ForeignKeyConstraint(["dealer_id"], ["dealer.id"], ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_feed_run_created", "feed_run", ["created_at", "id"])
    op.create_index("ix_feed_run_source_created", "feed_run", ["source", "created_at", "id"])
    op.create_index(
        "ix_feed_run_unfinished", "feed_run", ["status", "lease_until"], postgresql_where=UNFINISHED
    )
    op.create_table(
        "feed_rejection",
        sa.Column("run_id", sa.BigInteger(), nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("external_id", sa.String(length=120), nullable=True),
        sa.Column("reasons", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["feed_run.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("run_id", "line"),
    )
    op.create_index("ix_quote_created", "quote", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_quote_created", table_name="quote")
    op.drop_table("feed_rejection")
    op.drop_index("ix_feed_run_unfinished", table_name="feed_run", postgresql_where=UNFINISHED)
    op.drop_index("ix_feed_run_source_created", table_name="feed_run")
    op.drop_index("ix_feed_run_created", table_name="feed_run")
    op.drop_table("feed_run")
