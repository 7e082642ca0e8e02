"""Dealer root fields: updateDealer.

Staff (ADMIN) edit a dealer's name, city and rating; anyone else is refused (FORBIDDEN,
or UNAUTHENTICATED when nobody is signed in). Rules the input breaks come back as
userErrors naming the input field; an id that is not a Dealer's is BAD_USER_INPUT and an
unknown one NOT_FOUND. Every cached response that shows the dealer is dropped.
"""

from __future__ import annotations

import strawberry

from auth.permissions import STAFF, requires
from resolvers import dealers
from schema.context import Info
from schema.dealers import UpdateDealerInput, UpdateDealerPayload


@strawberry.type
class DealerMutation:
    @strawberry.mutation(
        description="Change a dealer's name, city or rating. Requires ADMIN.",
        extensions=[requires(STAFF)],
    )
    async def update_dealer(
        self, info: Info, input: UpdateDealerInput
    ) -> UpdateDealerPayload | None:
        return await dealers.update_dealer(info, input)
