"""order event outbox

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "order_event_outbox",
        sa.Column("order_id", sa.BigInteger(), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["order_id", "sequence"],
            ["order_event.order_id", "order_event.sequence"],
            name="fk_order_event_outbox_event",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("order_id", "sequence"),
    )


def downgrade() -> None:
    op.drop_table("order_event_outbox")
