"""What every mutation payload shares: business-rule refusals as `userErrors`.

`refusal_errors` is the one mapping from a domain refusal (services/errors.py
`RefusalError`) to the payload's `userErrors`; resolvers call it and nothing else."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import strawberry

from schema.user_error_codes import UserErrorCode
from services.errors import FieldProblem, RefusalError


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


def refusal_errors(
    refusal: RefusalError, names: Mapping[str, str] | None = None, *, field: str | None = None
) -> list[UserError]:
    """The userErrors of any domain refusal, for every mutation: one per field at fault;
    `names` renames a service's field to the input's, `field` puts the refusal on one."""
    if field is not None:
        return [input_error(field, refusal.code.value, refusal.message)]
    return input_errors(refusal.problems, names)
