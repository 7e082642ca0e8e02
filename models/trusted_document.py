"""Trusted documents: the operations a partner (or, with no partner, every first-party
client) registered from a manifest, the only ones it may run."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from models.base import created_at_field


class TrustedDocument(SQLModel, table=True):
    __tablename__ = "trusted_document"
    __table_args__ = (
        # NULLS NOT DISTINCT: the first-party registry (no partner) is one namespace too.
        sa.UniqueConstraint(
            "partner_id",
            "document_id",
            name="uq_trusted_document_id",
            postgresql_nulls_not_distinct=True,
        ),
        sa.UniqueConstraint(
            "partner_id",
            "sha256",
            name="uq_trusted_document_sha256",
            postgresql_nulls_not_distinct=True,
        ),
        sa.CheckConstraint(
            "operation_type IN ('query', 'mutation', 'subscription')",
            name="trusted_document_type_known",
        ),
    )

    id: int | None = Field(default=None, sa_type=sa.BigInteger, primary_key=True)
    partner_id: int | None = Field(
        default=None, sa_type=sa.BigInteger, foreign_key="partner.id", ondelete="CASCADE"
    )
    document_id: str = Field(max_length=200, nullable=False)
    sha256: str = Field(sa_type=sa.CHAR(64), nullable=False)
    name: str | None = Field(default=None, max_length=200)
    operation_type: str = Field(max_length=12, nullable=False)
    body: str = Field(sa_type=sa.Text, nullable=False)
    created_at: datetime = created_at_field()
