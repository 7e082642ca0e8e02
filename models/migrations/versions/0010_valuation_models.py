"""valuation models

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "valuation_model",
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("trained_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("metrics", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("model", sa.LargeBinary(), nullable=False),
        sa.Column("active", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("activated_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("version"),
    )
    op.create_index(
        "uq_valuation_model_active",
        "valuation_model",
        ["active"],
        unique=True,
        postgresql_where=sa.text("active"),
    )
    op.add_column("quote", sa.Column("valuation_source", sa.String(length=20), nullable=True))
    op.add_column("quote", sa.Column("valuation_model_version", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    op.drop_column("quote", "valuation_model_version")
    op.drop_column("quote", "valuation_source")
    op.drop_index("uq_valuation_model_active", table_name="valuation_model")
    op.drop_table("valuation_model")
