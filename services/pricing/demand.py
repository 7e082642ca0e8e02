"""The demand adjustment: how much recent interest in a model moves its delivered price.

There are no page-view or interest tables yet, so interest is read from what exists:
the comparable listings (same make and model, year within the window) that are reserved
right now, against those still on the market. The function is pure and bounded; when
views are recorded they become one more input here, not a change elsewhere.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from services.pricing.rules import RuleSet

RATE_QUANTUM = Decimal("0.0001")  # rates are kept to a hundredth of a percent


def demand_rate(reserved: int, listed: int, rules: RuleSet) -> Decimal:
    """Surcharge rate in [0, rules.demand_max_rate] from reserved among listed comparables."""
    reserved = max(reserved, 0)
    listed = max(listed, reserved)
    share = Decimal(reserved) / Decimal(max(listed + rules.demand_prior_listings, 1))
    rate = (share * rules.demand_sensitivity).quantize(RATE_QUANTUM, ROUND_HALF_UP)
    return min(max(rate, Decimal(0)), rules.demand_max_rate)
