"""What every mutation payload shares: business-rule refusals as `userErrors`."""

from __future__ import annotations

import strawberry


@strawberry.type(
    description="A business rule refused the input; `field` names the input field at fault."
)
class UserError:
    field: list[str] | None = strawberry.field(
        description="Path to the input field at fault, e.g. ['input', 'destinationCountry']."
    )
    code: str = strawberry.field(
        description="Stable machine-readable code, e.g. VEHICLE_UNAVAILABLE."
    )
    message: str = strawberry.field(description="Human-readable explanation.")
