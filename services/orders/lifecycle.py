"""The order lifecycle: twelve states and the one table of allowed transitions.

Every change of an order's status goes through `services.orders.transitions.transition`,
which looks the (status, event) pair up here. Who may trigger an event is part of the
table: a buyer cannot mark an order paid, only Stripe (through its webhook or the
reconciliation job) can.

| from                            | event              | to              | by              |
|---------------------------------|--------------------|-----------------|-----------------|
| (new)                           | CREATE             | DRAFT           | buyer, partner  |
| DRAFT                           | QUOTE              | QUOTED          | system          |
| QUOTED                          | RESERVE            | RESERVED        | buyer, partner  |
| RESERVED, PAYMENT_FAILED        | CHECKOUT           | PAYMENT_PENDING | buyer           |
| PAYMENT_PENDING                 | PAYMENT_SUCCEEDED  | PAID            | payments        |
| PAYMENT_PENDING                 | PAYMENT_FAILED     | PAYMENT_FAILED  | payments        |
| PAID                            | PREPARE            | PREPARING       | admin           |
| PREPARING                       | SHIP               | IN_TRANSIT      | admin           |
| IN_TRANSIT                      | DELIVER            | DELIVERED       | admin           |
| DELIVERED                       | COMPLETE           | COMPLETED       | admin, system   |
| DRAFT … PAYMENT_FAILED          | CANCEL             | CANCELLED       | anyone but pay. |
| RESERVED, PAYMENT_FAILED        | EXPIRE_RESERVATION | CANCELLED       | system          |
| PAID … DELIVERED                | REFUND_SETTLED     | REFUNDED        | payments        |

A hold ends at the order's `reserved_until`, whether the order is RESERVED or its
payment failed (EXPIRE_RESERVATION). A PAYMENT_PENDING order is never expired as it
stands, since its payment may still succeed: services/payments/holds.py cancels the
PaymentIntent first, which moves it to PAYMENT_FAILED (or PAID), and the expiry follows.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from models.order import ACTIVE_STATUSES, OrderStatus

S = OrderStatus


class OrderEventKind(enum.StrEnum):
    CREATE = "CREATE"
    QUOTE = "QUOTE"
    RESERVE = "RESERVE"
    CHECKOUT = "CHECKOUT"
    PAYMENT_SUCCEEDED = "PAYMENT_SUCCEEDED"
    PAYMENT_FAILED = "PAYMENT_FAILED"
    PREPARE = "PREPARE"
    SHIP = "SHIP"
    DELIVER = "DELIVER"
    COMPLETE = "COMPLETE"
    CANCEL = "CANCEL"
    EXPIRE_RESERVATION = "EXPIRE_RESERVATION"
    REFUND_SETTLED = "REFUND_SETTLED"


class ActorKind(enum.StrEnum):
    BUYER = "BUYER"
    PARTNER = "PARTNER"
    ADMIN = "ADMIN"
    SYSTEM = "SYSTEM"  # jobs and the pricing engine
    PAYMENTS = "PAYMENTS"  # Stripe's webhook, or reconciliation asking Stripe


@dataclass(frozen=True, slots=True)
class Actor:
    """Who triggers a transition, as recorded on the event (`buyer:7`, `system`)."""

    kind: ActorKind
    id: int | None = None

    @property
    def label(self) -> str:
        return (
            f"{self.kind.value.lower()}:{self.id}"
            if self.id is not None
            else self.kind.value.lower()
        )


E = OrderEventKind
A = ActorKind
_CANCELLABLE = (S.DRAFT, S.QUOTED, S.RESERVED, S.PAYMENT_PENDING, S.PAYMENT_FAILED)
_REFUNDABLE = (S.PAID, S.PREPARING, S.IN_TRANSIT, S.DELIVERED)
_CUSTOMERS = frozenset({A.BUYER, A.PARTNER})

# (from, event) -> (to, who may). `None` as "from" is an order that does not exist yet.
TRANSITIONS: dict[
    tuple[OrderStatus | None, OrderEventKind], tuple[OrderStatus, frozenset[ActorKind]]
] = {
    (None, E.CREATE): (S.DRAFT, _CUSTOMERS),
    (S.DRAFT, E.QUOTE): (S.QUOTED, frozenset({A.SYSTEM})),
    (S.QUOTED, E.RESERVE): (S.RESERVED, _CUSTOMERS),
    (S.RESERVED, E.CHECKOUT): (S.PAYMENT_PENDING, frozenset({A.BUYER})),
    (S.PAYMENT_FAILED, E.CHECKOUT): (S.PAYMENT_PENDING, frozenset({A.BUYER})),
    (S.PAYMENT_PENDING, E.PAYMENT_SUCCEEDED): (S.PAID, frozenset({A.PAYMENTS})),
    (S.PAYMENT_PENDING, E.PAYMENT_FAILED): (S.PAYMENT_FAILED, frozenset({A.PAYMENTS})),
    (S.PAID, E.PREPARE): (S.PREPARING, frozenset({A.ADMIN})),
    (S.PREPARING, E.SHIP): (S.IN_TRANSIT, frozenset({A.ADMIN})),
    (S.IN_TRANSIT, E.DELIVER): (S.DELIVERED, frozenset({A.ADMIN})),
    (S.DELIVERED, E.COMPLETE): (S.COMPLETED, frozenset({A.ADMIN, A.SYSTEM})),
    (S.RESERVED, E.EXPIRE_RESERVATION): (S.CANCELLED, frozenset({A.SYSTEM})),
    (S.PAYMENT_FAILED, E.EXPIRE_RESERVATION): (S.CANCELLED, frozenset({A.SYSTEM})),
    **{
        (status, E.CANCEL): (S.CANCELLED, frozenset({A.BUYER, A.PARTNER, A.ADMIN, A.SYSTEM}))
        for status in _CANCELLABLE
    },
    **{(status, E.REFUND_SETTLED): (S.REFUNDED, frozenset({A.PAYMENTS})) for status in _REFUNDABLE},
}

TERMINAL_STATUSES = frozenset({S.COMPLETED, S.CANCELLED, S.REFUNDED})


def statuses_allowing(event: OrderEventKind) -> tuple[OrderStatus, ...]:
    """The statuses the table lets `event` leave from, in the lifecycle's order."""
    return tuple(status for status in OrderStatus if (status, event) in TRANSITIONS)


# Read off the table, never copied: a change to the table changes these with it.
REFUNDABLE_STATUSES = statuses_allowing(E.REFUND_SETTLED)  # PAID ... DELIVERED
CANCELLABLE_STATUSES = statuses_allowing(E.CANCEL)  # DRAFT ... PAYMENT_FAILED


class VehicleEffect(enum.Enum):
    """What a transition does to the vehicle's status."""

    NONE = enum.auto()
    RESERVE = enum.auto()  # AVAILABLE -> RESERVED, or the vehicle is unavailable
    SELL = enum.auto()  # -> SOLD
    RELEASE = enum.auto()  # -> AVAILABLE again


def vehicle_effect(from_status: OrderStatus | None, to_status: OrderStatus) -> VehicleEffect:
    """The vehicle follows the order: reserved while held, sold once paid, else released."""
    was_holding = from_status in ACTIVE_STATUSES
    if to_status is S.RESERVED:
        return VehicleEffect.RESERVE
    if to_status is S.PAID:
        return VehicleEffect.SELL
    if to_status is S.CANCELLED and was_holding:
        return VehicleEffect.RELEASE
    # A refunded order gives the vehicle back unless it was already delivered.
    if to_status is S.REFUNDED and from_status is not S.DELIVERED:
        return VehicleEffect.RELEASE
    return VehicleEffect.NONE


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why the table refuses a transition: not allowed from here, or not by this actor."""

    code: str
    message: str


def check(
    from_status: OrderStatus | None, event: OrderEventKind, actor: ActorKind
) -> OrderStatus | Refusal:
    """The status the event leads to, or why it may not happen."""
    entry = TRANSITIONS.get((from_status, event))
    if entry is None:
        where = from_status.value if from_status else "a new order"
        return Refusal("TRANSITION_NOT_ALLOWED", f"{event.value} is not allowed from {where}")
    to_status, actors = entry
    if actor not in actors:
        return Refusal(
            "TRANSITION_NOT_ALLOWED", f"{event.value} cannot be done by {actor.value.lower()}"
        )
    return to_status
