"""orders

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "idempotency_record",
        sa.Column("identity", sa.String(length=80), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("fingerprint", sa.CHAR(length=64), nullable=False),
        sa.Column("status_code", sa.SmallInteger(), nullable=True),
        sa.Column("response", sa.LargeBinary(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("identity", "key"),
    )
    op.create_index(
        "ix_idempotency_record_created", "idempotency_record", ["created_at"], unique=False
    )
    op.create_table(
        "orders",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("buyer_id", sa.BigInteger(), nullable=True),
        sa.Column("partner_id", sa.BigInteger(), nullable=True),
        sa.Column("vehicle_id", sa.BigInteger(), nullable=False),
        sa.Column("quote_id", sa.BigInteger(), nullable=False),
        sa.Column("destination_country", sa.CHAR(length=2), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("total_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.CHAR(length=3), nullable=False),
        sa.Column("reserved_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
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
        sa.CheckConstraint(
            "status IN ('DRAFT', 'QUOTED', 'RESERVED', 'PAYMENT_PENDING', 'PAYMENT_FAILED', 'PAID', 'PREPARING', 'IN_TRANSIT', 'DELIVERED', 'COMPLETED', 'CANCELLED', 'REFUNDED')",
            name="orders_status_known",
        ),
        sa.CheckConstraint(
            "buyer_id IS NOT NULL OR partner_id IS NOT NULL", name="orders_has_an_owner"
        ),
        sa.CheckConstraint("total_minor > 0", name="orders_total_positive"),
        sa.CheckConstraint("version >= 1", name="orders_version_positive"),
        sa.ForeignKeyConstraint(["buyer_id"], ["app_user.id"], ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["partner_id"], ["partner.id"], ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["quote_id"], ["quote.id"], ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["vehicle_id"], ["vehicle.id"], ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_orders_buyer_created", "orders", ["buyer_id", "created_at"], unique=False)
    op.create_index(
        "ix_orders_partner_created", "orders", ["partner_id", "created_at"], unique=False
    )
    op.create_index(
        "ix_orders_reserved_until",
        "orders",
        ["reserved_until"],
        unique=False,
        postgresql_where=sa.text("status = 'RESERVED'"),
    )
    op.create_index("ix_orders_status_created", "orders", ["status", "created_at"], unique=False)
    op.create_index(
        "uq_orders_active_vehicle",
        "orders",
        ["vehicle_id"],
        unique=True,
        postgresql_where=sa.text(
            "status IN ('RESERVED', 'PAYMENT_PENDING', 'PAYMENT_FAILED', 'PAID', 'PREPARING', 'IN_TRANSIT', 'DELIVERED')"
        ),
    )
    op.create_table(
        "order_event",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("order_id", sa.BigInteger(), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("from_status", sa.String(length=20), nullable=True),
        sa.Column("to_status", sa.String(length=20), nullable=False),
        sa.Column("actor", sa.String(length=60), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.Column(
            "at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.CheckConstraint(
            "to_status IN ('DRAFT', 'QUOTED', 'RESERVED', 'PAYMENT_PENDING', 'PAYMENT_FAILED', 'PAID', 'PREPARING', 'IN_TRANSIT', 'DELIVERED', 'COMPLETED', 'CANCELLED', 'REFUNDED')",
            name="order_event_to_known",
        ),
        sa.CheckConstraint("sequence >= 1", name="order_event_sequence_positive"),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("order_id", "sequence", name="uq_order_event_sequence"),
    )


def downgrade() -> None:
    op.drop_table("order_event")
    op.drop_index(
        "uq_orders_active_vehicle",
        table_name="orders",
        postgresql_where=sa.text(
            "status IN ('RESERVED', 'PAYMENT_PENDING', 'PAYMENT_FAILED', 'PAID', 'PREPARING', 'IN_TRANSIT', 'DELIVERED')"
        ),
    )
    op.drop_index("ix_orders_status_created", table_name="orders")
    op.drop_index(
        "ix_orders_reserved_until",
        table_name="orders",
        postgresql_where=sa.text("status = 'RESERVED'"),
    )
    op.drop_index("ix_orders_partner_created", table_name="orders")
    op.drop_index("ix_orders_buyer_created", table_name="orders")
    op.drop_table("orders")
    op.drop_index("ix_idempotency_record_created", table_name="idempotency_record")
    op.drop_table("idempotency_record")
