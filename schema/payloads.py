"""What every mutation payload shares: business-rule refusals as `userErrors`."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import strawberry

from schema.user_error_codes import UserErrorCode
from services.errors import FieldProblem


@strawberry.type(
    description="A business rule refused the input; `field` names the input field at fault."
)
class UserError:
    field: list[str] | None = strawberry.field(
        description="Path to the input field at fault, e.g. ['input', 'destinationCountry']."
    )
    code: UserErrorCode = strawberry.field(
        description="What the rule refused, as a stable code (the message may change)."
    )
    message: str = strawberry.field(description="Human-readable explanation.")


def input_error(field: str, code: str, message: str) -> UserError:
    """The userError of one input field a rule refused (`code`: a UserErrorCode value)."""
    return UserError(field=["input", field], code=UserErrorCode(code), message=message)


def input_errors(
    problems: Iterable[FieldProblem], names: Mapping[str, str] | None = None
) -> list[UserError]:
    """The userErrors of a refused input: one per field at fault, under `input`; `names`
    maps a service's field name to the input's where they differ."""
    names = names or {}
    return [input_error(names.get(p.field, p.field), p.code, p.message) for p in problems]
