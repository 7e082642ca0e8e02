"""Dealers: the businesses that list vehicles."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from models.base import created_at_field, updated_at_field


class Dealer(SQLModel, table=True):
    __tablename__ = "dealer"
    __table_args__ = (
        sa.CheckConstraint("rating >= 0 AND rating <= 5", name="dealer_rating_range"),
        sa.CheckConstraint("country ~ '^[A-Z]{2}$'", name="dealer_country_alpha2"),
        sa.Index("ix_dealer_country_city", "country", "city"),
        sa.Index("ix_dealer_name_id", "name", "id"),
    )

    id: int | None = Field(default=None, sa_type=sa.BigInteger, primary_key=True)
    name: str = Field(max_length=200, nullable=False)
    country: str = Field(sa_type=sa.CHAR(2), nullable=False)
    city: str = Field(max_length=100, nullable=False)
    rating: Decimal = Field(sa_type=sa.Numeric(2, 1), nullable=False)
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()
