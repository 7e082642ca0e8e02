"""Money: an exact decimal amount and its currency; never a float."""

from __future__ import annotations

from decimal import Decimal

import strawberry

from models.vehicle import CurrencyCode
from schema.errors import BadUserInputError

MINOR_UNIT_EXPONENT = 2  # every EU currency in CurrencyCode has two minor digits


@strawberry.type(description="An exact amount of money in a currency.")
class Money:
    amount: Decimal = strawberry.field(description="Exact decimal amount, e.g. 18990.00.")
    currency: CurrencyCode

    @classmethod
    def from_minor(cls, minor: int, currency: str) -> Money:
        return cls(
            amount=Decimal(minor).scaleb(-MINOR_UNIT_EXPONENT), currency=CurrencyCode(currency)
        )


def to_minor(amount: Decimal, *, field: str) -> int:
    """Minor units of an amount given by a client; more than two decimals is refused."""
    if not amount.is_finite():
        raise BadUserInputError(f"{field} must be a finite amount", field=field)
    minor = amount.scaleb(MINOR_UNIT_EXPONENT)
    if minor != minor.to_integral_value():
        raise BadUserInputError(f"{field} has more than two decimals", field=field)
    return int(minor)
