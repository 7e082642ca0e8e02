"""The custom scalars as clients and their code generators read them: a precise format
in each description and a `@specifiedBy` URL (Strawberry's parsing and serialising
stay as they are).

- `DateTime`: RFC 3339 with a UTC offset, as the GraphQL Scalars project's date-time
  says; the API writes UTC (`2026-11-22T09:30:00.123456+00:00`).
- `Date`: an RFC 3339 full-date (`2021-03-15`).
- `Decimal`: an exact decimal number as a string (`"18990.00"`), the General Decimal
  Arithmetic's string syntax; never a float. Input may also be a JSON number, read as
  its decimal text. Input is bounded: finite, at most `MAX_INTEGER_DIGITS` digits before
  the point and `MAX_FRACTION_DIGITS` after it (so `"1e999999999"`, `NaN` or a
  5,000-digit number is a BAD_USER_INPUT naming the argument, never a crash further on).
"""

from __future__ import annotations

import dataclasses
from datetime import date, datetime
from decimal import Decimal
from typing import Final

from strawberry.schema.types.base_scalars import (
    DateDefinition,
    DateTimeDefinition,
    DecimalDefinition,
)
from strawberry.types.scalar import ScalarDefinition

MAX_INTEGER_DIGITS: Final = 16
MAX_FRACTION_DIGITS: Final = 12
# The longest text a bounded decimal can have (sign, digits, point, an exponent): longer
# input is refused before it is parsed at all.
_MAX_DECIMAL_TEXT: Final = 64
_SMALLEST_FRACTION: Final = Decimal(1).scaleb(-MAX_FRACTION_DIGITS)


def parse_bounded_decimal(value: object) -> Decimal:
    """A Decimal input, finite and within 16 integer and 12 fractional digits.

    Refusals are ValueErrors, so that GraphQL reports them with the value's location
    (`Expected value of type 'Decimal', found ...`, or `Variable '$x' got invalid value`)."""
    text = value if isinstance(value, str) else str(value)
    if len(text) > _MAX_DECIMAL_TEXT:
        raise ValueError(f"more than {_MAX_DECIMAL_TEXT} characters.")
    try:
        number = Decimal(text.strip())
    except ArithmeticError:
        raise ValueError(f'"{text}".') from None
    if not number.is_finite():
        raise ValueError(f'"{text}" is not finite.')
    exponent = number.as_tuple().exponent
    assert isinstance(exponent, int)  # finite
    if number and number.adjusted() >= MAX_INTEGER_DIGITS:
        raise ValueError(f"at most {MAX_INTEGER_DIGITS} digits before the decimal point.")
    if -exponent > MAX_FRACTION_DIGITS:
        # Trailing zeros beyond the bound are harmless ("1.50000000000000"): drop them.
        bounded = number.quantize(_SMALLEST_FRACTION)
        if bounded != number:
            raise ValueError(f"at most {MAX_FRACTION_DIGITS} digits after the decimal point.")
        return bounded
    return number


DATE_TIME: Final = dataclasses.replace(
    DateTimeDefinition,
    description="A point in time: RFC 3339 with its UTC offset, written in UTC by the API, "
    "e.g. 2026-11-22T09:30:00.123456+00:00.",
    specified_by_url="https://scalars.graphql.org/andimarek/date-time",
)
DATE: Final = dataclasses.replace(
    DateDefinition,
    description="A calendar date: an RFC 3339 full-date, e.g. 2021-03-15.",
    specified_by_url="https://scalars.graphql.org/andimarek/local-date",
)
DECIMAL: Final = dataclasses.replace(
    DecimalDefinition,
    description='An exact decimal number as a string, e.g. "18990.00"; never a float. '
    "Money amounts have two decimal places. Input may also be a JSON number; it must be "
    f"finite, with at most {MAX_INTEGER_DIGITS} digits before the point and "
    f"{MAX_FRACTION_DIGITS} after it.",
    specified_by_url="https://speleotrove.com/decimal/daconvs.html",
    parse_value=parse_bounded_decimal,
)

# What build_schema passes to Strawberry as `scalar_overrides`.
SCALAR_OVERRIDES: Final[dict[object, ScalarDefinition]] = {
    datetime: DATE_TIME,
    date: DATE,
    Decimal: DECIMAL,
}
