"""dealers and vehicles

Revision ID: 0001
Revises:
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "dealer",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("country", sa.CHAR(length=2), nullable=False),
        sa.Column("city", sa.String(length=100), nullable=False),
        sa.Column("rating", sa.Numeric(precision=2, scale=1), nullable=False),
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
        sa.CheckConstraint("country ~ '^[A-Z]{2}$'", name="dealer_country_alpha2"),
        sa.CheckConstraint("rating >= 0 AND rating <= 5", name="dealer_rating_range"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_dealer_country_city", "dealer", ["country", "city"], unique=False)
    op.create_index("ix_dealer_name_id", "dealer", ["name", "id"], unique=False)
    op.create_table(
        "vehicle",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("vin", sa.CHAR(length=17), nullable=False),
        sa.Column("make", sa.String(length=60), nullable=False),
        sa.Column("model", sa.String(length=60), nullable=False),
        sa.Column("trim", sa.String(length=100), nullable=True),
        sa.Column("year", sa.SmallInteger(), nullable=False),
        sa.Column("first_registration", sa.Date(), nullable=True),
        sa.Column("mileage_km", sa.Integer(), nullable=False),
        sa.Column("fuel", sa.String(length=20), nullable=False),
        sa.Column("transmission", sa.String(length=20), nullable=False),
        sa.Column("body_type", sa.String(length=20), nullable=False),
        sa.Column("colour", sa.String(length=40), nullable=False),
        sa.Column("power_kw", sa.SmallInteger(), nullable=False),
        sa.Column("co2_g_km", sa.SmallInteger(), nullable=True),
        sa.Column("location_country", sa.CHAR(length=2), nullable=False),
        sa.Column("location_city", sa.String(length=100), nullable=False),
        sa.Column("dealer_id", sa.BigInteger(), nullable=False),
        sa.Column("price_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.CHAR(length=3), nullable=False),
        sa.Column("status", sa.String(length=20), server_default="AVAILABLE", nullable=False),
        sa.Column("source", sa.String(length=60), nullable=True),
        sa.Column("external_id", sa.String(length=120), nullable=True),
        sa.Column(
            "search",
            postgresql.TSVECTOR(),
            sa.Computed(
                "to_tsvector('simple', make || ' ' || model || ' ' || coalesce(trim, ''))",
                persisted=True,
            ),
            nullable=True,
        ),
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
            "body_type IN ('HATCHBACK', 'SEDAN', 'ESTATE', 'SUV', 'COUPE', 'CONVERTIBLE', 'MPV', 'PICKUP', 'VAN')",
            name="vehicle_body_type_known",
        ),
        sa.CheckConstraint(
            "currency IN ('EUR', 'BGN', 'CZK', 'DKK', 'HUF', 'PLN', 'RON', 'SEK')",
            name="vehicle_currency_known",
        ),
        sa.CheckConstraint(
            "fuel IN ('PETROL', 'DIESEL', 'HYBRID', 'PLUG_IN_HYBRID', 'ELECTRIC', 'LPG', 'CNG')",
            name="vehicle_fuel_known",
        ),
        sa.CheckConstraint(
            "location_country ~ '^[A-Z]{2}$'", name="vehicle_location_country_alpha2"
        ),
        sa.CheckConstraint(
            "status IN ('AVAILABLE', 'RESERVED', 'SOLD', 'WITHDRAWN')",
            name="vehicle_status_known",
        ),
        sa.CheckConstraint(
            "transmission IN ('MANUAL', 'AUTOMATIC')", name="vehicle_transmission_known"
        ),
        sa.CheckConstraint("vin ~ '^[A-HJ-NPR-Z0-9]{17}$'", name="vehicle_vin_format"),
        sa.CheckConstraint(
            "(source IS NULL) = (external_id IS NULL)",
            name="vehicle_source_with_external_id",
        ),
        sa.CheckConstraint("mileage_km >= 0", name="vehicle_mileage_positive"),
        sa.CheckConstraint("power_kw > 0", name="vehicle_power_positive"),
        sa.CheckConstraint("price_minor > 0", name="vehicle_price_positive"),
        sa.CheckConstraint("year BETWEEN 1950 AND 2100", name="vehicle_year_range"),
        sa.ForeignKeyConstraint(["dealer_id"], ["dealer.id"], ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("source", "external_id", name="uq_vehicle_source_external_id"),
        sa.UniqueConstraint("vin", name="uq_vehicle_vin"),
    )
    op.create_index(
        "ix_vehicle_body_type_price",
        "vehicle",
        ["body_type", "price_minor"],
        unique=False,
    )
    op.create_index(
        "ix_vehicle_country_price",
        "vehicle",
        ["location_country", "price_minor"],
        unique=False,
    )
    op.create_index("ix_vehicle_created_id", "vehicle", ["created_at", "id"], unique=False)
    op.create_index(
        "ix_vehicle_dealer_created_id",
        "vehicle",
        ["dealer_id", "created_at", "id"],
        unique=False,
    )
    op.create_index("ix_vehicle_fuel_price", "vehicle", ["fuel", "price_minor"], unique=False)
    op.create_index(
        "ix_vehicle_make_model_year",
        "vehicle",
        [sa.text("lower(make)"), sa.text("lower(model)"), "year"],
        unique=False,
    )
    op.create_index("ix_vehicle_mileage_id", "vehicle", ["mileage_km", "id"], unique=False)
    op.create_index("ix_vehicle_price_id", "vehicle", ["price_minor", "id"], unique=False)
    op.create_index(
        "ix_vehicle_search", "vehicle", ["search"], unique=False, postgresql_using="gin"
    )
    op.create_index("ix_vehicle_status_price", "vehicle", ["status", "price_minor"], unique=False)
    op.create_index("ix_vehicle_year_id", "vehicle", ["year", "id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_vehicle_year_id", table_name="vehicle")
    op.drop_index("ix_vehicle_status_price", table_name="vehicle")
    op.drop_index("ix_vehicle_search", table_name="vehicle", postgresql_using="gin")
    op.drop_index("ix_vehicle_price_id", table_name="vehicle")
    op.drop_index("ix_vehicle_mileage_id", table_name="vehicle")
    op.drop_index("ix_vehicle_make_model_year", table_name="vehicle")
    op.drop_index("ix_vehicle_fuel_price", table_name="vehicle")
    op.drop_index("ix_vehicle_dealer_created_id", table_name="vehicle")
    op.drop_index("ix_vehicle_created_id", table_name="vehicle")
    op.drop_index("ix_vehicle_country_price", table_name="vehicle")
    op.drop_index("ix_vehicle_body_type_price", table_name="vehicle")
    op.drop_table("vehicle")
    op.drop_index("ix_dealer_name_id", table_name="dealer")
    op.drop_index("ix_dealer_country_city", table_name="dealer")
    op.drop_table("dealer")
