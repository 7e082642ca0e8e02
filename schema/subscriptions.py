"""Root Subscription fields, over WebSocket (graphql-transport-ws, and legacy graphql-ws).

orderStatusChanged: the order's buyer, the partner that placed it, or staff; anyone else
gets the protocol's error message with FORBIDDEN (the socket stays open). A subscription
is costed once, when it starts (schema/throttle.py); its events are not charged.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Annotated

import strawberry

from auth.permissions import IsOrderOwner, requires
from resolvers import order_events
from schema.context import Info
from schema.orders import OrderEvent


@strawberry.type
class Subscription:
    @strawberry.subscription(
        description="An order's events as they happen: first every event after "
        "afterSequence, from the database, then each new one, in sequence order, never "
        "a gap or a duplicate. To resume after a disconnect, pass the last sequence you "
        "saw. The stream completes after the order reaches COMPLETED, CANCELLED or "
        "REFUNDED. The order's buyer, the partner that placed it, or staff.",
        extensions=[requires(IsOrderOwner())],
    )
    async def order_status_changed(
        self,
        info: Info,
        order_id: strawberry.ID,
        after_sequence: Annotated[
            int | None,
            strawberry.argument(description="Replay the events after this sequence; 0 or "
                                "absent: from the first."),
        ] = None,
    ) -> AsyncGenerator[OrderEvent, None]:  # fmt: skip
        return await order_events.order_status_changed(info, order_id, after_sequence)
