"""Accounts: users and their refresh-token families, partners and their API keys.

Secrets are never stored: a password as its argon2id hash, a refresh token and an API
key as the SHA-256 of their text (both carry 256 random bits, so a fast hash is safe).
`is_demo` marks the fixed development credentials, which `autobroker serve` refuses.
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from models.base import created_at_field, updated_at_field


class UserRole(enum.StrEnum):
    BUYER = "BUYER"
    DEALER = "DEALER"
    ADMIN = "ADMIN"


def _aware() -> sa.DateTime:
    return sa.DateTime(timezone=True)


class User(SQLModel, table=True):
    """A person who signs in. `email` is stored normalised (lower case), hence unique
    case-insensitively; a DEALER is linked to their dealer, other roles to none."""

    # "user" is a reserved word in PostgreSQL.
    __tablename__ = "app_user"
    __table_args__ = (
        sa.CheckConstraint("role IN ('BUYER', 'DEALER', 'ADMIN')", name="app_user_role_known"),
        sa.CheckConstraint(
            "(role = 'DEALER') = (dealer_id IS NOT NULL)", name="app_user_dealer_iff_dealer_role"
        ),
        sa.UniqueConstraint("email", name="uq_app_user_email"),
        sa.Index("ix_app_user_dealer_id", "dealer_id"),
    )

    id: int | None = Field(default=None, sa_type=sa.BigInteger, primary_key=True)
    email: str = Field(max_length=254, nullable=False)
    password_hash: str = Field(max_length=200, nullable=False)
    role: str = Field(max_length=10, nullable=False)
    dealer_id: int | None = Field(
        default=None,
        sa_type=sa.BigInteger,
        foreign_key="dealer.id",
        ondelete="RESTRICT",
    )
    is_demo: bool = Field(
        default=False, nullable=False, sa_column_kwargs={"server_default": sa.false()}
    )
    # Personal data not needed for queries, each a Fernet token (services/crypto.py).
    full_name_enc: str | None = Field(default=None, sa_type=sa.Text)
    phone_enc: str | None = Field(default=None, sa_type=sa.Text)
    address_enc: str | None = Field(default=None, sa_type=sa.Text)
    # Set when the account was erased (GDPR Art. 17): the row is then a pseudonym.
    erased_at: datetime | None = Field(default=None, sa_type=_aware())
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()


class RefreshToken(SQLModel, table=True):
    """One refresh token; every rotation adds a row to the same family.

    A token is live while `used_at`, `revoked_at` are null and `expires_at` is ahead.
    Presenting a used one revokes every token of its family (reuse detection).
    """

    __tablename__ = "refresh_token"
    __table_args__ = (
        sa.UniqueConstraint("token_hash", name="uq_refresh_token_hash"),
        sa.Index("ix_refresh_token_family_id", "family_id"),
        sa.Index("ix_refresh_token_user_id", "user_id"),
    )

    id: int | None = Field(default=None, sa_type=sa.BigInteger, primary_key=True)
    user_id: int = Field(
        sa_type=sa.BigInteger,
        foreign_key="app_user.id",
        nullable=False,
        ondelete="CASCADE",
    )
    family_id: uuid.UUID = Field(sa_type=sa.Uuid, nullable=False)
    token_hash: str = Field(sa_type=sa.CHAR(64), nullable=False)
    created_at: datetime = created_at_field()
    expires_at: datetime = Field(sa_type=_aware(), nullable=False)
    used_at: datetime | None = Field(default=None, sa_type=_aware())
    revoked_at: datetime | None = Field(default=None, sa_type=_aware())


class Partner(SQLModel, table=True):
    """A business integrating through persisted queries (comparison site, leasing firm)."""

    __tablename__ = "partner"
    __table_args__ = (sa.UniqueConstraint("name", name="uq_partner_name"),)

    id: int | None = Field(default=None, sa_type=sa.BigInteger, primary_key=True)
    name: str = Field(max_length=100, nullable=False)
    created_at: datetime = created_at_field()


class ApiKey(SQLModel, table=True):
    """A partner's API key: looked up by its public prefix, checked by its hash."""

    __tablename__ = "api_key"
    __table_args__ = (
        sa.UniqueConstraint("prefix", name="uq_api_key_prefix"),
        sa.Index("ix_api_key_partner_id", "partner_id"),
    )

    id: int | None = Field(default=None, sa_type=sa.BigInteger, primary_key=True)
    partner_id: int = Field(
        sa_type=sa.BigInteger,
        foreign_key="partner.id",
        nullable=False,
        ondelete="CASCADE",
    )
    prefix: str = Field(max_length=16, nullable=False)
    key_hash: str = Field(sa_type=sa.CHAR(64), nullable=False)
    is_demo: bool = Field(
        default=False, nullable=False, sa_column_kwargs={"server_default": sa.false()}
    )
    created_at: datetime = created_at_field()
    revoked_at: datetime | None = Field(default=None, sa_type=_aware())
