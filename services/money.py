"""Money in the rules and in storage: `Decimal` amounts, integer minor units, never a float.

Every conversion between an amount and its minor units goes through here, with the
currency's exponent (ISO 4217: how many minor digits it has). Every currency the product
trades in (models/vehicle.py CurrencyCode: the EU's) has two, HUF included, as Stripe
counts it; a currency with another exponent is added to `MINOR_DIGITS`, nowhere else.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from models.vehicle import CurrencyCode

MINOR_DIGITS: Mapping[str, int] = {currency.value: 2 for currency in CurrencyCode}
DEFAULT_CURRENCY = CurrencyCode.EUR.value


class InexactAmountError(ValueError):
    """The amount is not finite, or has more decimals than the currency's minor unit."""

    def __init__(self, amount: Decimal, digits: int) -> None:
        reason = "is not finite" if not amount.is_finite() else f"has more than {digits} decimals"
        super().__init__(f"{amount} {reason}")
        self.amount = amount
        self.digits = digits
        self.finite = amount.is_finite()


def minor_digits(currency: str = DEFAULT_CURRENCY) -> int:
    """How many minor digits the currency has (2 for every currency we trade in)."""
    return MINOR_DIGITS[currency]


def minor_unit(currency: str = DEFAULT_CURRENCY) -> Decimal:
    """The currency's smallest amount, e.g. Decimal('0.01'): what amounts are rounded to."""
    return Decimal(1).scaleb(-minor_digits(currency))


def to_minor(
    amount: Decimal, currency: str = DEFAULT_CURRENCY, *, rounding: str | None = None
) -> int:
    """The amount in integer minor units; `InexactAmountError` if it does not fit exactly,
    unless `rounding` (a `decimal` rounding mode) says how to cut it to the minor unit."""
    digits = minor_digits(currency)
    if not amount.is_finite():
        raise InexactAmountError(amount, digits)
    if rounding is not None:
        amount = amount.quantize(minor_unit(currency), rounding)
    minor = amount.scaleb(digits)
    if minor != minor.to_integral_value():
        raise InexactAmountError(amount, digits)
    return int(minor)


def from_minor(minor: int | Decimal, currency: str = DEFAULT_CURRENCY) -> Decimal:
    """The amount of a number of minor units (a median of them may have a fraction)."""
    return Decimal(minor).scaleb(-minor_digits(currency))
