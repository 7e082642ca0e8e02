"""The status sets other rules use are read off the lifecycle table, not copied, and the
reservation hold has one default."""

from __future__ import annotations

from datetime import timedelta

from core.settings import Settings
from models.order import ACTIVE_STATUSES, OrderStatus
from services.orders.lifecycle import (
    CANCELLABLE_STATUSES,
    REFUNDABLE_STATUSES,
    TRANSITIONS,
    OrderEventKind,
    statuses_allowing,
)
from services.orders.transitions import DEFAULT_RESERVATION_TTL
from services.vehicles.holds import HOLDING, PAID_FOR

S = OrderStatus


def test_refundable_is_where_a_refund_may_settle() -> None:
    assert REFUNDABLE_STATUSES == (S.PAID, S.PREPARING, S.IN_TRANSIT, S.DELIVERED)
    for status in OrderStatus:
        settles = (status, OrderEventKind.REFUND_SETTLED) in TRANSITIONS
        assert settles == (status in REFUNDABLE_STATUSES)


def test_cancellable_is_where_a_cancel_may_start() -> None:
    assert CANCELLABLE_STATUSES == (
        S.DRAFT, S.QUOTED, S.RESERVED, S.PAYMENT_PENDING, S.PAYMENT_FAILED
    )  # fmt: skip
    assert statuses_allowing(OrderEventKind.CREATE) == ()  # only from a new order


def test_holds_split_the_active_statuses_in_held_and_paid_for() -> None:
    assert HOLDING == (S.RESERVED, S.PAYMENT_PENDING, S.PAYMENT_FAILED)
    assert PAID_FOR == REFUNDABLE_STATUSES
    assert set(HOLDING) | set(PAID_FOR) == set(ACTIVE_STATUSES)
    assert not set(HOLDING) & set(PAID_FOR)


def test_the_reservation_default_is_the_settings() -> None:
    minutes = Settings.model_fields["reservation_minutes"].default
    assert DEFAULT_RESERVATION_TTL == timedelta(minutes=minutes) == timedelta(minutes=30)
