"""The lifecycle table, as data: what it allows, who may, and what the vehicle does."""

from __future__ import annotations

import pytest

from models.order import ACTIVE_STATUSES, OrderStatus
from services.orders.lifecycle import (
    TERMINAL_STATUSES,
    TRANSITIONS,
    ActorKind,
    OrderEventKind,
    Refusal,
    VehicleEffect,
    check,
    vehicle_effect,
)

S = OrderStatus
E = OrderEventKind

# DESIGN 6.3, written out once more by hand: the table must say exactly this.
EXPECTED = {
    (None, E.CREATE): S.DRAFT,
    (S.DRAFT, E.QUOTE): S.QUOTED,
    (S.QUOTED, E.RESERVE): S.RESERVED,
    (S.RESERVED, E.CHECKOUT): S.PAYMENT_PENDING,
    (S.PAYMENT_FAILED, E.CHECKOUT): S.PAYMENT_PENDING,
    (S.PAYMENT_PENDING, E.PAYMENT_SUCCEEDED): S.PAID,
    (S.PAYMENT_PENDING, E.PAYMENT_FAILED): S.PAYMENT_FAILED,
    (S.PAID, E.PREPARE): S.PREPARING,
    (S.PREPARING, E.SHIP): S.IN_TRANSIT,
    (S.IN_TRANSIT, E.DELIVER): S.DELIVERED,
    (S.DELIVERED, E.COMPLETE): S.COMPLETED,
    (S.RESERVED, E.EXPIRE_RESERVATION): S.CANCELLED,
    (S.PAYMENT_FAILED, E.EXPIRE_RESERVATION): S.CANCELLED,
    **{
        (s, E.CANCEL): S.CANCELLED
        for s in (S.DRAFT, S.QUOTED, S.RESERVED, S.PAYMENT_PENDING, S.PAYMENT_FAILED)
    },
    **{(s, E.REFUND_SETTLED): S.REFUNDED for s in (S.PAID, S.PREPARING, S.IN_TRANSIT, S.DELIVERED)},
}


def test_the_table_is_exactly_the_specified_one() -> None:
    assert {key: to for key, (to, _) in TRANSITIONS.items()} == EXPECTED


@pytest.mark.parametrize("status", [None, *OrderStatus])
@pytest.mark.parametrize("event", list(OrderEventKind))
def test_everything_outside_the_table_is_refused(
    status: OrderStatus | None, event: OrderEventKind
) -> None:
    for actor in ActorKind:
        outcome = check(status, event, actor)
        entry = TRANSITIONS.get((status, event))
        if entry is not None and actor in entry[1]:
            assert outcome is entry[0]
        else:
            assert isinstance(outcome, Refusal)
            assert outcome.code == "TRANSITION_NOT_ALLOWED"


def test_terminal_states_have_no_way_out() -> None:
    for status, _event in TRANSITIONS:
        assert status not in TERMINAL_STATUSES


def test_only_payments_mark_an_order_paid_and_only_staff_ship() -> None:
    assert TRANSITIONS[(S.PAYMENT_PENDING, E.PAYMENT_SUCCEEDED)][1] == {ActorKind.PAYMENTS}
    assert TRANSITIONS[(S.PREPARING, E.SHIP)][1] == {ActorKind.ADMIN}


@pytest.mark.parametrize(
    ("before", "after", "effect"),
    [
        (S.QUOTED, S.RESERVED, VehicleEffect.RESERVE),
        (S.PAYMENT_PENDING, S.PAID, VehicleEffect.SELL),
        (S.RESERVED, S.CANCELLED, VehicleEffect.RELEASE),
        (S.PAYMENT_FAILED, S.CANCELLED, VehicleEffect.RELEASE),
        (S.QUOTED, S.CANCELLED, VehicleEffect.NONE),
        (S.PAID, S.REFUNDED, VehicleEffect.RELEASE),
        (S.DELIVERED, S.REFUNDED, VehicleEffect.NONE),
        (S.PAID, S.PREPARING, VehicleEffect.NONE),
    ],
)
def test_the_vehicle_follows_the_order(
    before: OrderStatus, after: OrderStatus, effect: VehicleEffect
) -> None:
    assert vehicle_effect(before, after) is effect


def test_active_statuses_are_reserved_to_delivered() -> None:
    assert set(ACTIVE_STATUSES) == {
        S.RESERVED, S.PAYMENT_PENDING, S.PAYMENT_FAILED, S.PAID, S.PREPARING, S.IN_TRANSIT, S.DELIVERED,
    }  # fmt: skip
