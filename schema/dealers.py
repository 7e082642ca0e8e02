"""Dealer edits by staff: the input and its payload.

In UpdateDealerInput an omitted field is left as it is; null is refused for every one
(a dealer always has a name, a city and a rating). `rating` is an exact decimal, so that
a value such as 4.25 is refused rather than rounded.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import strawberry

from schema.catalog import Dealer
from schema.ids import decode_int_id
from schema.payloads import UserError

EDITABLE_FIELDS = ("name", "city", "rating")


@strawberry.input(description="A dealer's fields to change; omitted ones stay as they are.")
class UpdateDealerInput:
    id: strawberry.ID = strawberry.field(description="The dealer's global ID.")
    name: str | None = strawberry.field(
        default=strawberry.UNSET, description="1 to 200 characters; surrounding spaces trimmed."
    )
    city: str | None = strawberry.field(
        default=strawberry.UNSET, description="1 to 100 characters; surrounding spaces trimmed."
    )
    rating: Decimal | None = strawberry.field(
        default=strawberry.UNSET, description="From 0.0 to 5.0, at most one decimal place."
    )

    def dealer_key(self) -> int:
        return decode_int_id(self.id, "Dealer")

    def changes(self) -> dict[str, Any]:
        """The fields that were given, null ones included (the service refuses those)."""
        given = {name: getattr(self, name) for name in EDITABLE_FIELDS}
        return {name: value for name, value in given.items() if value is not strawberry.UNSET}


@strawberry.type
class UpdateDealerPayload:
    dealer: Dealer | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)
