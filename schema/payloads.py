"""What every mutation payload shares: business-rule refusals as `userErrors`."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import strawberry

from services.errors import FieldProblem


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


def input_errors(
    problems: Iterable[FieldProblem], names: Mapping[str, str] | None = None
) -> list[UserError]:
    """The userErrors of a refused input: one per field at fault, under `input`; `names`
    maps a service's field name to the input's where they differ."""
    names = names or {}
    return [
        UserError(field=["input", names.get(p.field, p.field)], code=p.code, message=p.message)
        for p in problems
    ]
