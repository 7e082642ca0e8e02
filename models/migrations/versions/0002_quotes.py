"""quotes and quote lines; the valuation's index on vehicle

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_vehicle_comparables",
        "vehicle",
        [sa.text("lower(make)"), sa.text("lower(model)"), "year", "mileage_km"],
        unique=False,
    )
    op.create_table(
        "quote",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("vehicle_id", sa.BigInteger(), nullable=False),
        sa.Column("destination_country", sa.CHAR(length=2), nullable=False),
        sa.Column("rules_version", sa.String(length=20), nullable=False),
        sa.Column("currency", sa.CHAR(length=3), nullable=False),
        sa.Column("subtotal_minor", sa.BigInteger(), nullable=False),
        sa.Column("vat_minor", sa.BigInteger(), nullable=False),
        sa.Column("total_minor", sa.BigInteger(), nullable=False),
        sa.Column("vat_scheme", sa.String(length=20), nullable=False),
        sa.Column("market_position", sa.String(length=20), nullable=False),
        sa.Column("comparable_count", sa.Integer(), nullable=False),
        sa.Column("market_value_minor", sa.BigInteger(), nullable=True),
        sa.Column("valid_until", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "currency IN ('EUR', 'BGN', 'CZK', 'DKK', 'HUF', 'PLN', 'RON', 'SEK')",
            name="quote_currency_known",
        ),
        sa.CheckConstraint(
            "destination_country ~ '^[A-Z]{2}$'", name="quote_destination_country_alpha2"
        ),
        sa.CheckConstraint(
            "market_position IN ('BELOW_MARKET', 'FAIR', 'ABOVE_MARKET', 'INSUFFICIENT_DATA')",
            name="quote_market_position_known",
        ),
        sa.CheckConstraint(
            "vat_scheme IN ('MARGIN', 'NEW_VEHICLE')", name="quote_vat_scheme_known"
        ),
        sa.CheckConstraint("comparable_count >= 0", name="quote_comparable_count_not_negative"),
        sa.CheckConstraint(
            "subtotal_minor >= 0 AND vat_minor >= 0", name="quote_amounts_not_negative"
        ),
        sa.CheckConstraint("total_minor = subtotal_minor + vat_minor", name="quote_total_sum"),
        sa.CheckConstraint("valid_until > created_at", name="quote_valid_after_creation"),
        sa.ForeignKeyConstraint(["vehicle_id"], ["vehicle.id"], ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_quote_vehicle_created", "quote", ["vehicle_id", "created_at"], unique=False)
    op.create_table(
        "quote_line",
        sa.Column("quote_id", sa.BigInteger(), nullable=False),
        sa.Column("position", sa.SmallInteger(), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("vat_rate", sa.Numeric(precision=5, scale=4), nullable=False),
        sa.Column("vat_minor", sa.BigInteger(), nullable=False),
        sa.CheckConstraint(
            "kind IN ('VEHICLE_PRICE', 'TRANSPORT', 'BROKER_FEE', 'REGISTRATION_FEE', 'DEMAND_ADJUSTMENT')",
            name="quote_line_kind_known",
        ),
        sa.CheckConstraint(
            "amount_minor >= 0 AND vat_minor >= 0", name="quote_line_amounts_not_negative"
        ),
        sa.CheckConstraint("position >= 1", name="quote_line_position_positive"),
        sa.ForeignKeyConstraint(["quote_id"], ["quote.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("quote_id", "position"),
    )


def downgrade() -> None:
    op.drop_table("quote_line")
    op.drop_index("ix_quote_vehicle_created", table_name="quote")
    op.drop_table("quote")
    op.drop_index("ix_vehicle_comparables", table_name="vehicle")
