"""payments

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN_PAYMENT = sa.text("status IN ('PENDING', 'PROCESSING', 'FAILED')")
PENDING_REFUND = sa.text("status = 'PENDING'")
UNAPPLIED_EVENT = sa.text("applied_at IS NULL")


def _timestamps() -> list[sa.Column[object]]:
    return [
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
    ]


def upgrade() -> None:
    op.create_table(
        "stripe_event",
        sa.Column("id", sa.String(length=255), nullable=False),
        sa.Column("type", sa.String(length=100), nullable=False),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column(
            "received_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("applied_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_stripe_event_unapplied",
        "stripe_event",
        ["received_at"],
        unique=False,
        postgresql_where=UNAPPLIED_EVENT,
    )
    op.create_table(
        "payment",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("order_id", sa.BigInteger(), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=100), nullable=False),
        sa.Column("stripe_payment_intent_id", sa.String(length=255), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.CHAR(length=3), nullable=False),
        sa.Column("failure_message", sa.String(length=500), nullable=True),
        sa.Column("stripe_updated_at", sa.DateTime(timezone=True), nullable=True),
        *_timestamps(),
        sa.CheckConstraint(
            "status IN ('PENDING', 'PROCESSING', 'FAILED', 'SUCCEEDED', 'CANCELED', 'REFUNDED')",
            name="payment_status_known",
        ),
        sa.CheckConstraint("amount_minor > 0", name="payment_amount_positive"),
        sa.CheckConstraint("attempt >= 1", name="payment_attempt_positive"),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("idempotency_key", name="uq_payment_idempotency_key"),
        sa.UniqueConstraint("order_id", "attempt", name="uq_payment_order_attempt"),
        sa.UniqueConstraint("stripe_payment_intent_id", name="uq_payment_intent"),
    )
    op.create_index(
        "ix_payment_open_updated",
        "payment",
        ["updated_at"],
        unique=False,
        postgresql_where=OPEN_PAYMENT,
    )
    op.create_table(
        "refund",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("order_id", sa.BigInteger(), nullable=False),
        sa.Column("payment_id", sa.BigInteger(), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=100), nullable=False),
        sa.Column("stripe_refund_id", sa.String(length=255), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.CHAR(length=3), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("requested_by", sa.String(length=60), nullable=False),
        *_timestamps(),
        sa.CheckConstraint(
            "status IN ('PENDING', 'SUCCEEDED', 'FAILED', 'CANCELED')",
            name="refund_status_known",
        ),
        sa.CheckConstraint("amount_minor > 0", name="refund_amount_positive"),
        sa.CheckConstraint("attempt >= 1", name="refund_attempt_positive"),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["payment_id"], ["payment.id"], ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("idempotency_key", name="uq_refund_idempotency_key"),
        sa.UniqueConstraint("payment_id", "attempt", name="uq_refund_payment_attempt"),
        sa.UniqueConstraint("stripe_refund_id", name="uq_refund_stripe_id"),
    )
    op.create_index("ix_refund_order", "refund", ["order_id"], unique=False)
    op.create_index(
        "ix_refund_pending_updated",
        "refund",
        ["updated_at"],
        unique=False,
        postgresql_where=PENDING_REFUND,
    )


def downgrade() -> None:
    op.drop_index("ix_refund_pending_updated", table_name="refund", postgresql_where=PENDING_REFUND)
    op.drop_index("ix_refund_order", table_name="refund")
    op.drop_table("refund")
    op.drop_index("ix_payment_open_updated", table_name="payment", postgresql_where=OPEN_PAYMENT)
    op.drop_table("payment")
    op.drop_index(
        "ix_stripe_event_unapplied", table_name="stripe_event", postgresql_where=UNAPPLIED_EVENT
    )
    op.drop_table("stripe_event")
