"""Trained valuation models, versioned: the serving one is the row marked active.

At most one row is active (a partial unique index), and switching is one transaction
that clears the old flag and sets the new one, so every replica polling the active
version sees either the old model or the new one, never none or two.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlmodel import Field, SQLModel


class ValuationModelRecord(SQLModel, table=True):
    __tablename__ = "valuation_model"
    __table_args__ = (
        sa.Index(
            "uq_valuation_model_active",
            "active",
            unique=True,
            postgresql_where=sa.text("active"),
        ),
    )

    version: int | None = Field(default=None, sa_type=sa.BigInteger, primary_key=True)
    trained_at: datetime = Field(sa_type=sa.DateTime(timezone=True), nullable=False)
    # The evaluation (model_evaluation.Evaluation as JSON): accepted when refusal is null.
    metrics: dict[str, Any] = Field(sa_type=postgresql.JSONB, nullable=False)
    model: bytes = Field(sa_type=sa.LargeBinary, nullable=False)
    active: bool = Field(
        default=False, nullable=False, sa_column_kwargs={"server_default": sa.false()}
    )
    activated_at: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True))
