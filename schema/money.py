"""Money: an exact decimal amount and its currency; never a float."""

from __future__ import annotations

from decimal import Decimal

import strawberry

from models.vehicle import CurrencyCode
from schema.errors import BadUserInputError
from services import money


@strawberry.type(description="An exact amount of money in a currency.")
class Money:
    amount: Decimal = strawberry.field(description="Exact decimal amount, e.g. 18990.00.")
    currency: CurrencyCode

    @classmethod
    def from_minor(cls, minor: int, currency: str) -> Money:
        return cls(amount=money.from_minor(minor, currency), currency=CurrencyCode(currency))


def to_minor(amount: Decimal, *, field: str) -> int:
    """Minor units of an amount given by a client; more than two decimals is refused."""
    try:
        return money.to_minor(amount)
    except money.InexactAmountError as error:
        problem = "must be a finite amount" if not error.finite else "has more than two decimals"
        raise BadUserInputError(f"{field} {problem}", field=field) from None
