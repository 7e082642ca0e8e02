"""Vehicles listed for sale, and the enumerations that describe them.

Enumerations are stored as text guarded by CHECK constraints (not PostgreSQL enum types)
so that adding a value is a one-line migration and COPY can load them as plain text.
"""

from __future__ import annotations

import enum
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlmodel import Field, SQLModel

from models.base import created_at_field, updated_at_field


class FuelType(enum.StrEnum):
    PETROL = "PETROL"
    DIESEL = "DIESEL"
    HYBRID = "HYBRID"
    PLUG_IN_HYBRID = "PLUG_IN_HYBRID"
    ELECTRIC = "ELECTRIC"
    LPG = "LPG"
    CNG = "CNG"


class Transmission(enum.StrEnum):
    MANUAL = "MANUAL"
    AUTOMATIC = "AUTOMATIC"


class BodyType(enum.StrEnum):
    HATCHBACK = "HATCHBACK"
    SEDAN = "SEDAN"
    ESTATE = "ESTATE"
    SUV = "SUV"
    COUPE = "COUPE"
    CONVERTIBLE = "CONVERTIBLE"
    MPV = "MPV"
    PICKUP = "PICKUP"
    VAN = "VAN"


class VehicleStatus(enum.StrEnum):
    AVAILABLE = "AVAILABLE"
    RESERVED = "RESERVED"
    SOLD = "SOLD"
    WITHDRAWN = "WITHDRAWN"


class CurrencyCode(enum.StrEnum):
    """ISO 4217 currencies of EU member states (minor unit: 2 digits, HUF included)."""

    EUR = "EUR"
    BGN = "BGN"
    CZK = "CZK"
    DKK = "DKK"
    HUF = "HUF"
    PLN = "PLN"
    RON = "RON"
    SEK = "SEK"


def _check_in(column: str, values: type[enum.StrEnum]) -> str:
    allowed = ", ".join(f"'{member.value}'" for member in values)
    return f"{column} IN ({allowed})"


# The catalog's full-text document: make, model and trim, lower-cased words ('simple'
# config: no stemming, so model names match exactly; accents are kept).
SEARCH_DOCUMENT = "to_tsvector('simple', make || ' ' || model || ' ' || coalesce(trim, ''))"


class Vehicle(SQLModel, table=True):
    __tablename__ = "vehicle"
    __table_args__ = (
        sa.CheckConstraint("vin ~ '^[A-HJ-NPR-Z0-9]{17}$'", name="vehicle_vin_format"),
        sa.CheckConstraint("year BETWEEN 1950 AND 2100", name="vehicle_year_range"),
        sa.CheckConstraint("mileage_km >= 0", name="vehicle_mileage_positive"),
        sa.CheckConstraint("price_minor > 0", name="vehicle_price_positive"),
        sa.CheckConstraint("power_kw > 0", name="vehicle_power_positive"),
        sa.CheckConstraint(
            "location_country ~ '^[A-Z]{2}$'", name="vehicle_location_country_alpha2"
        ),
        sa.CheckConstraint(_check_in("fuel", FuelType), name="vehicle_fuel_known"),
        sa.CheckConstraint(
            _check_in("transmission", Transmission), name="vehicle_transmission_known"
        ),
        sa.CheckConstraint(_check_in("body_type", BodyType), name="vehicle_body_type_known"),
        sa.CheckConstraint(_check_in("status", VehicleStatus), name="vehicle_status_known"),
        sa.CheckConstraint(_check_in("currency", CurrencyCode), name="vehicle_currency_known"),
        sa.CheckConstraint(
            "(source IS NULL) = (external_id IS NULL)", name="vehicle_source_with_external_id"
        ),
        sa.UniqueConstraint("vin", name="uq_vehicle_vin"),
        sa.UniqueConstraint("source", "external_id", name="uq_vehicle_source_external_id"),
        # Catalog sorts: each is (sort key, id) so keyset pagination is an index range scan.
        sa.Index("ix_vehicle_price_id", "price_minor", "id"),
        sa.Index("ix_vehicle_year_id", "year", "id"),
        sa.Index("ix_vehicle_mileage_id", "mileage_km", "id"),
        sa.Index("ix_vehicle_created_id", "created_at", "id"),
        # Catalog filters: the common selective ones; others combine through bitmap scans.
        # Make and model match case-insensitively, so the index is on their lower case.
        sa.Index(
            "ix_vehicle_make_model_year", sa.text("lower(make)"), sa.text("lower(model)"), "year"
        ),
        sa.Index("ix_vehicle_dealer_created_id", "dealer_id", "created_at", "id"),
        sa.Index("ix_vehicle_country_price", "location_country", "price_minor"),
        sa.Index("ix_vehicle_status_price", "status", "price_minor"),
        sa.Index("ix_vehicle_fuel_price", "fuel", "price_minor"),
        sa.Index("ix_vehicle_body_type_price", "body_type", "price_minor"),
        sa.Index("ix_vehicle_search", "search", postgresql_using="gin"),
    )

    id: int | None = Field(default=None, sa_type=sa.BigInteger, primary_key=True)
    vin: str = Field(sa_type=sa.CHAR(17), nullable=False)
    make: str = Field(max_length=60, nullable=False)
    model: str = Field(max_length=60, nullable=False)
    trim: str | None = Field(default=None, max_length=100)
    year: int = Field(sa_type=sa.SmallInteger, nullable=False)
    first_registration: date | None = Field(default=None)
    mileage_km: int = Field(nullable=False)
    fuel: str = Field(max_length=20, nullable=False)
    transmission: str = Field(max_length=20, nullable=False)
    body_type: str = Field(max_length=20, nullable=False)
    colour: str = Field(max_length=40, nullable=False)
    power_kw: int = Field(sa_type=sa.SmallInteger, nullable=False)
    co2_g_km: int | None = Field(default=None, sa_type=sa.SmallInteger)
    location_country: str = Field(sa_type=sa.CHAR(2), nullable=False)
    location_city: str = Field(max_length=100, nullable=False)
    dealer_id: int = Field(
        sa_type=sa.BigInteger,
        foreign_key="dealer.id",
        nullable=False,
        ondelete="RESTRICT",
    )
    price_minor: int = Field(sa_type=sa.BigInteger, nullable=False)
    currency: str = Field(sa_type=sa.CHAR(3), nullable=False, default=CurrencyCode.EUR.value)
    status: str = Field(
        max_length=20,
        nullable=False,
        default=VehicleStatus.AVAILABLE.value,
        sa_column_kwargs={"server_default": VehicleStatus.AVAILABLE.value},
    )
    source: str | None = Field(default=None, max_length=60)
    external_id: str | None = Field(default=None, max_length=120)
    search: str | None = Field(
        default=None,
        sa_column=sa.Column(
            "search", postgresql.TSVECTOR, sa.Computed(SEARCH_DOCUMENT, persisted=True)
        ),
    )
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()
