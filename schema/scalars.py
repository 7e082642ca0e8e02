"""The custom scalars as clients and their code generators read them: a precise format
in each description and a `@specifiedBy` URL (Strawberry's parsing and serialising
stay as they are).

- `DateTime`: RFC 3339 with a UTC offset, as the GraphQL Scalars project's date-time
  says; the API writes UTC (`2026-11-22T09:30:00.123456+00:00`).
- `Date`: an RFC 3339 full-date (`2021-03-15`).
- `Decimal`: an exact decimal number as a string (`"18990.00"`), the General Decimal
  Arithmetic's string syntax; never a float. Input may also be a JSON number, read as
  its decimal text.
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
    "Money amounts have two decimal places. Input may also be a JSON number.",
    specified_by_url="https://speleotrove.com/decimal/daconvs.html",
)

# What build_schema passes to Strawberry as `scalar_overrides`.
SCALAR_OVERRIDES: Final[dict[object, ScalarDefinition]] = {
    datetime: DATE_TIME,
    date: DATE,
    Decimal: DECIMAL,
}
