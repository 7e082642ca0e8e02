"""Price quotes: a vehicle delivered to a destination country, line by line.

A quote is immutable once written: it records what the pricing engine computed (lines,
totals, market data, the rules version it applied) and how long the price holds.
Amounts are integer minor units of `currency`; a line's `amount_minor` is net of VAT.

A quote's id is random, not sequential: a quote is requested anonymously and read back
by its id alone (`quote(id:)`, `node(id:)`), so the id is the capability to read it, and
63 bits from PostgreSQL's strong random source (`gen_random_uuid`) cannot be guessed or
counted through; nor does its global ID reveal how many quotes there are.
"""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from models.base import created_at_field
from models.vehicle import CurrencyCode, Vehicle


class QuoteLineKind(enum.StrEnum):
    VEHICLE_PRICE = "VEHICLE_PRICE"
    TRANSPORT = "TRANSPORT"
    BROKER_FEE = "BROKER_FEE"
    REGISTRATION_FEE = "REGISTRATION_FEE"
    DEMAND_ADJUSTMENT = "DEMAND_ADJUSTMENT"


class MarketPosition(enum.StrEnum):
    BELOW_MARKET = "BELOW_MARKET"
    FAIR = "FAIR"
    ABOVE_MARKET = "ABOVE_MARKET"
    INSUFFICIENT_DATA = "INSUFFICIENT_DATA"


class ValuationSource(enum.StrEnum):
    """What gave the market value: the valuation model, the comparables, or nothing."""

    MODEL = "MODEL"
    COMPARABLES = "COMPARABLES"
    NONE = "NONE"


class VatScheme(enum.StrEnum):
    """MARGIN: a used car, no VAT shown on its price; NEW_VEHICLE: VAT on every line."""

    MARGIN = "MARGIN"
    NEW_VEHICLE = "NEW_VEHICLE"


def _check_in(column: str, values: type[enum.StrEnum]) -> str:
    allowed = ", ".join(f"'{member.value}'" for member in values)
    return f"{column} IN ({allowed})"


_vehicle: sa.Table = Vehicle.__table__  # type: ignore[attr-defined]

# A random positive BIGINT: 64 bits of an MD5 of a random UUID (122 random bits), sign cleared.
RANDOM_QUOTE_ID = (
    "(('x' || substr(md5(gen_random_uuid()::text), 1, 16))::bit(64)::bigint & 9223372036854775807)"
)

# The valuation's index on vehicle (services/pricing/valuation.py): the listings of a make,
# model and model year in mileage order, read from a subject's mileage up and down. It is
# declared with the feature that needs it.
sa.Index(
    "ix_vehicle_comparables",
    sa.text("lower(make)"),
    sa.text("lower(model)"),
    _vehicle.c.year,
    _vehicle.c.mileage_km,
)


class Quote(SQLModel, table=True):
    __tablename__ = "quote"
    __table_args__ = (
        sa.CheckConstraint(
            "destination_country ~ '^[A-Z]{2}$'", name="quote_destination_country_alpha2"
        ),
        sa.CheckConstraint(_check_in("currency", CurrencyCode), name="quote_currency_known"),
        sa.CheckConstraint(
            _check_in("market_position", MarketPosition), name="quote_market_position_known"
        ),
        sa.CheckConstraint(_check_in("vat_scheme", VatScheme), name="quote_vat_scheme_known"),
        sa.CheckConstraint(
            "subtotal_minor >= 0 AND vat_minor >= 0", name="quote_amounts_not_negative"
        ),
        sa.CheckConstraint("total_minor = subtotal_minor + vat_minor", name="quote_total_sum"),
        sa.CheckConstraint("comparable_count >= 0", name="quote_comparable_count_not_negative"),
        sa.CheckConstraint("valid_until > created_at", name="quote_valid_after_creation"),
        # A vehicle's quotes, newest first (the FK's index too).
        sa.Index("ix_quote_vehicle_created", "vehicle_id", "created_at"),
        # The quote-cache refresh reads the last minutes' quotes (services/pricing/refresh.py).
        sa.Index("ix_quote_created", "created_at"),
    )

    id: int | None = Field(
        default=None,
        sa_type=sa.BigInteger,
        primary_key=True,
        sa_column_kwargs={"server_default": sa.text(RANDOM_QUOTE_ID), "autoincrement": False},
    )
    vehicle_id: int = Field(
        sa_type=sa.BigInteger,
        foreign_key="vehicle.id",
        nullable=False,
        ondelete="RESTRICT",
    )
    destination_country: str = Field(sa_type=sa.CHAR(2), nullable=False)
    rules_version: str = Field(max_length=20, nullable=False)
    currency: str = Field(sa_type=sa.CHAR(3), nullable=False)
    subtotal_minor: int = Field(sa_type=sa.BigInteger, nullable=False)
    vat_minor: int = Field(sa_type=sa.BigInteger, nullable=False)
    total_minor: int = Field(sa_type=sa.BigInteger, nullable=False)
    vat_scheme: str = Field(max_length=20, nullable=False)
    market_position: str = Field(max_length=20, nullable=False)
    comparable_count: int = Field(nullable=False)
    market_value_minor: int | None = Field(default=None, sa_type=sa.BigInteger)
    # Null on quotes made before valuation models: COMPARABLES, or NONE without a value.
    valuation_source: str | None = Field(default=None, max_length=20)
    valuation_model_version: int | None = Field(default=None, sa_type=sa.BigInteger)
    valid_until: datetime = Field(sa_type=sa.DateTime(timezone=True), nullable=False)
    created_at: datetime = created_at_field()


class QuoteLine(SQLModel, table=True):
    __tablename__ = "quote_line"
    __table_args__ = (
        sa.CheckConstraint(_check_in("kind", QuoteLineKind), name="quote_line_kind_known"),
        sa.CheckConstraint(
            "amount_minor >= 0 AND vat_minor >= 0", name="quote_line_amounts_not_negative"
        ),
        sa.CheckConstraint("position >= 1", name="quote_line_position_positive"),
    )

    quote_id: int = Field(
        sa_type=sa.BigInteger,
        foreign_key="quote.id",
        primary_key=True,
        ondelete="CASCADE",
    )
    position: int = Field(sa_type=sa.SmallInteger, primary_key=True)
    kind: str = Field(max_length=30, nullable=False)
    label: str = Field(max_length=200, nullable=False)
    amount_minor: int = Field(sa_type=sa.BigInteger, nullable=False)
    # The line's VAT rate as applied (0 under the margin scheme), e.g. 0.1900.
    vat_rate: Decimal = Field(sa_type=sa.Numeric(5, 4), nullable=False)
    vat_minor: int = Field(sa_type=sa.BigInteger, nullable=False)
