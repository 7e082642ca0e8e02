"""Orders, their append-only event log, and idempotent mutation records.

`OrderStatus` and the transition table live in services/orders/lifecycle.py; the table
here only guards the values. The partial unique index `uq_orders_active_vehicle` is
what makes a double booking impossible: a vehicle has at most one order between
RESERVED and DELIVERED, whatever the Python above it does.
"""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from models.base import created_at_field, updated_at_field


class OrderStatus(enum.StrEnum):
    DRAFT = "DRAFT"
    QUOTED = "QUOTED"
    RESERVED = "RESERVED"
    PAYMENT_PENDING = "PAYMENT_PENDING"
    PAYMENT_FAILED = "PAYMENT_FAILED"
    PAID = "PAID"
    PREPARING = "PREPARING"
    IN_TRANSIT = "IN_TRANSIT"
    DELIVERED = "DELIVERED"
    COMPLETED = "COMPLETED"
    CANCELLED = "CANCELLED"
    REFUNDED = "REFUNDED"


# The statuses that hold the vehicle: one order at most per vehicle among these.
ACTIVE_STATUSES: tuple[OrderStatus, ...] = (
    OrderStatus.RESERVED,
    OrderStatus.PAYMENT_PENDING,
    OrderStatus.PAYMENT_FAILED,
    OrderStatus.PAID,
    OrderStatus.PREPARING,
    OrderStatus.IN_TRANSIT,
    OrderStatus.DELIVERED,
)


def _in(column: str, values: tuple[str, ...] | type[enum.StrEnum]) -> str:
    return f"{column} IN ({', '.join(repr(str(v)) for v in values)})"


def _aware() -> sa.DateTime:
    return sa.DateTime(timezone=True)


class Order(SQLModel, table=True):
    __tablename__ = "orders"
    __table_args__ = (
        sa.CheckConstraint(_in("status", OrderStatus), name="orders_status_known"),
        sa.CheckConstraint("version >= 1", name="orders_version_positive"),
        sa.CheckConstraint("total_minor > 0", name="orders_total_positive"),
        sa.CheckConstraint(
            "buyer_id IS NOT NULL OR partner_id IS NOT NULL", name="orders_has_an_owner"
        ),
        sa.Index(
            "uq_orders_active_vehicle",
            "vehicle_id",
            unique=True,
            postgresql_where=sa.text(_in("status", tuple(s.value for s in ACTIVE_STATUSES))),
        ),
        sa.Index("ix_orders_buyer_created", "buyer_id", "created_at"),
        sa.Index("ix_orders_partner_created", "partner_id", "created_at"),
        sa.Index("ix_orders_status_created", "status", "created_at"),
        sa.Index(
            "ix_orders_reserved_until",
            "reserved_until",
            # Every status that holds a vehicle until reserved_until (hold expiry).
            postgresql_where=sa.text("status IN ('RESERVED', 'PAYMENT_PENDING', 'PAYMENT_FAILED')"),
        ),
    )

    id: int | None = Field(default=None, sa_type=sa.BigInteger, primary_key=True)
    buyer_id: int | None = Field(
        default=None, sa_type=sa.BigInteger, foreign_key="app_user.id", ondelete="RESTRICT"
    )
    partner_id: int | None = Field(
        default=None, sa_type=sa.BigInteger, foreign_key="partner.id", ondelete="RESTRICT"
    )
    vehicle_id: int = Field(
        sa_type=sa.BigInteger, foreign_key="vehicle.id", nullable=False, ondelete="RESTRICT"
    )
    quote_id: int = Field(
        sa_type=sa.BigInteger, foreign_key="quote.id", nullable=False, ondelete="RESTRICT"
    )
    destination_country: str = Field(sa_type=sa.CHAR(2), nullable=False)
    status: str = Field(max_length=20, nullable=False)
    version: int = Field(nullable=False, default=1)
    total_minor: int = Field(sa_type=sa.BigInteger, nullable=False)
    currency: str = Field(sa_type=sa.CHAR(3), nullable=False)
    reserved_until: datetime | None = Field(default=None, sa_type=_aware())
    delivered_at: datetime | None = Field(default=None, sa_type=_aware())
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()


class OrderEvent(SQLModel, table=True):
    """One transition of one order; sequences run 1, 2, 3… per order, without gaps."""

    __tablename__ = "order_event"
    __table_args__ = (
        sa.UniqueConstraint("order_id", "sequence", name="uq_order_event_sequence"),
        sa.CheckConstraint("sequence >= 1", name="order_event_sequence_positive"),
        sa.CheckConstraint(_in("to_status", OrderStatus), name="order_event_to_known"),
    )

    id: int | None = Field(default=None, sa_type=sa.BigInteger, primary_key=True)
    order_id: int = Field(
        sa_type=sa.BigInteger, foreign_key="orders.id", nullable=False, ondelete="CASCADE"
    )
    sequence: int = Field(nullable=False)
    from_status: str | None = Field(default=None, max_length=20)
    to_status: str = Field(max_length=20, nullable=False)
    actor: str = Field(max_length=60, nullable=False)
    reason: str | None = Field(default=None, max_length=500)
    at: datetime = created_at_field()


class OrderEventOutbox(SQLModel, table=True):
    """A committed order event whose publication on Redis failed, until the relay
    (services/events.py) publishes it."""

    __tablename__ = "order_event_outbox"
    __table_args__ = (
        sa.ForeignKeyConstraint(
            ["order_id", "sequence"],
            ["order_event.order_id", "order_event.sequence"],
            name="fk_order_event_outbox_event",
            ondelete="CASCADE",
        ),
    )

    order_id: int = Field(sa_type=sa.BigInteger, primary_key=True)
    sequence: int = Field(primary_key=True)
    created_at: datetime = created_at_field()


class IdempotencyRecord(SQLModel, table=True):
    """The first response to a mutation request sent with an Idempotency-Key."""

    __tablename__ = "idempotency_record"
    __table_args__ = (sa.Index("ix_idempotency_record_created", "created_at"),)

    # The caller's identity and their key: one caller's keys never meet another's.
    identity: str = Field(max_length=80, primary_key=True)
    key: str = Field(max_length=200, primary_key=True)
    fingerprint: str = Field(sa_type=sa.CHAR(64), nullable=False)
    status_code: int | None = Field(default=None, sa_type=sa.SmallInteger)
    response: bytes | None = Field(default=None, sa_type=sa.LargeBinary)
    created_at: datetime = created_at_field()
