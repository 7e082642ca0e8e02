"""The audit log and personal-data exports.

`AuditEntry` is append-only: a trigger (migration 0014) refuses every UPDATE and every
DELETE except the retention purge of entries older than 30 days, and each entry carries
the SHA-256 of its predecessor (`prev_hash`) and of itself (`hash`), so an altered or
removed entry breaks the chain (services/audit/chain.py, `autobroker audit verify`).
It has no foreign keys on purpose: an entry outlives the account it names. It holds ids,
never an e-mail or a name: a failed sign-in with an unknown e-mail keeps a keyed hash.

`DataExport` is one GDPR export (Art. 15/20) of one account: its status and, once READY,
its JSON document, kept until `expires_at` (services/gdpr/store.py).
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlmodel import Field, SQLModel

from models.base import created_at_field


def _aware() -> sa.DateTime:
    return sa.DateTime(timezone=True)


class AuditEntry(SQLModel, table=True):
    __tablename__ = "audit_entry"
    __table_args__ = (
        sa.UniqueConstraint("hash", name="uq_audit_entry_hash"),
        sa.Index("ix_audit_entry_at", "at"),
        sa.Index("ix_audit_entry_action_at", "action", "at"),
        sa.Index("ix_audit_entry_actor", "actor_kind", "actor_id", "at"),
        sa.Index("ix_audit_entry_subject", "subject_type", "subject_id"),
        sa.Index("ix_audit_entry_subject_user", "subject_user_id"),
    )

    id: int | None = Field(default=None, sa_type=sa.BigInteger, primary_key=True)
    at: datetime = Field(sa_type=_aware(), nullable=False)
    # USER, PARTNER, SYSTEM or ANONYMOUS; actor_id the user's or partner's id.
    actor_kind: str = Field(max_length=20, nullable=False)
    actor_id: int | None = Field(default=None, sa_type=sa.BigInteger)
    action: str = Field(max_length=60, nullable=False)
    subject_type: str | None = Field(default=None, max_length=40)
    subject_id: str | None = Field(default=None, max_length=80)
    # The account the entry is about (the person a GDPR export or erasure concerns).
    subject_user_id: int | None = Field(default=None, sa_type=sa.BigInteger)
    client_address: str | None = Field(default=None, max_length=64)
    user_agent: str | None = Field(default=None, max_length=300)
    details: dict[str, Any] = Field(
        default_factory=dict,
        sa_type=postgresql.JSONB,
        nullable=False,
        sa_column_kwargs={"server_default": sa.text("'{}'::jsonb")},
    )
    prev_hash: str = Field(sa_type=sa.CHAR(64), nullable=False)
    hash: str = Field(sa_type=sa.CHAR(64), nullable=False)


class DataExportStatus(enum.StrEnum):
    PENDING = "PENDING"
    READY = "READY"
    FAILED = "FAILED"


class DataExport(SQLModel, table=True):
    __tablename__ = "data_export"
    __table_args__ = (
        sa.CheckConstraint(
            "status IN ('PENDING', 'READY', 'FAILED')", name="data_export_status_known"
        ),
        sa.Index("ix_data_export_user_id", "user_id"),
        sa.Index("ix_data_export_expires_at", "expires_at"),
    )

    id: uuid.UUID = Field(sa_type=sa.Uuid, primary_key=True)
    user_id: int = Field(
        sa_type=sa.BigInteger, foreign_key="app_user.id", nullable=False, ondelete="CASCADE"
    )
    requested_by: str = Field(max_length=60, nullable=False)
    status: str = Field(max_length=10, nullable=False)
    document: bytes | None = Field(default=None, sa_type=sa.LargeBinary)
    created_at: datetime = created_at_field()
    finished_at: datetime | None = Field(default=None, sa_type=_aware())
    expires_at: datetime | None = Field(default=None, sa_type=_aware())
