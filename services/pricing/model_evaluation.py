"""Honest evaluation of a valuation model, beside today's comparables, on held-out listings.

A fixed share of listings, chosen by a hash of the vehicle id (the same vehicles are held
out at every retraining), is never shown to the model. On them:

- the model's median absolute percentage error (MdAPE) of its point value against the
  asking price, and the share of asking prices inside its 80 % interval (coverage);
- the comparables' MdAPE on the same vehicles: the rules' mileage-adjusted median of the
  nearest comparables (as valuation.py computes it in SQL), drawn from the training
  listings only, where there are at least the rules' minimum of them.

Both MdAPEs are taken on the vehicles the comparables can value, so the comparison is
like for like. The model is accepted only if its MdAPE there is lower; otherwise it is
refused, and the reason is kept with its metrics.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import date
from statistics import median
from typing import Any

from services.pricing.model_features import Listing, feature_matrix
from services.pricing.model_training import ValuationModel
from services.pricing.rules import RuleSet

HELD_OUT_PERCENT = 20
MIN_HELD_OUT = 50  # fewer comparable-valued held-out vehicles prove nothing
_HASH_MULTIPLIER = 2_654_435_761  # Knuth's multiplicative hash: ids spread over 0..99


def is_held_out(vehicle_id: int) -> bool:
    """Whether the vehicle belongs to the evaluation split (stable across retrainings)."""
    return (vehicle_id * _HASH_MULTIPLIER) % 2**32 % 100 < HELD_OUT_PERCENT


def split(listings: Sequence[Listing]) -> tuple[list[Listing], list[Listing]]:
    """(training, held out)."""
    training: list[Listing] = []
    held_out: list[Listing] = []
    for listing in listings:
        (held_out if is_held_out(listing.vehicle_id) else training).append(listing)
    return training, held_out


@dataclass(frozen=True, slots=True)
class Evaluation:
    """The figures kept with a model; `refusal` is None when the model may serve."""

    training_rows: int
    held_out_rows: int
    compared_rows: int  # held-out vehicles the comparables could value
    model_mdape: float  # on the compared rows, in percent
    comparables_mdape: float | None
    model_mdape_all: float  # on every held-out row
    interval_coverage: float  # percent of held-out asking prices inside the interval
    refusal: str | None

    @property
    def accepted(self) -> bool:
        return self.refusal is None

    def as_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Evaluation:
        return cls(**{name: data[name] for name in cls.__dataclass_fields__})


class ComparablesIndex:
    """Training listings by (group, year), sorted by mileage, for the comparables median."""

    def __init__(self, listings: Sequence[Listing], rules: RuleSet) -> None:
        self._rules = rules
        buckets: dict[tuple[str, int], list[tuple[int, int]]] = defaultdict(list)
        for listing in listings:
            if listing.status != "WITHDRAWN":
                buckets[(listing.group, listing.year)].append(
                    (listing.mileage_km, listing.price_minor)
                )
        self._buckets = {key: sorted(rows) for key, rows in buckets.items()}
        self._mileages = {key: [km for km, _ in rows] for key, rows in self._buckets.items()}

    def value_minor(self, subject: Listing) -> float | None:
        """The mileage-adjusted median of the subject's comparables, or None below the minimum."""
        rules, per_side = self._rules, self._rules.comparable_nearest_per_side
        per_km, low, high = (float(rules.mileage_factor_per_km), float(rules.mileage_factor_min),
                             float(rules.mileage_factor_max))  # fmt: skip
        window = rules.comparable_year_window
        adjusted = []
        for year in range(subject.year - window, subject.year + window + 1):
            rows = self._buckets.get((subject.group, year))
            if not rows:
                continue
            cut = bisect.bisect_left(self._mileages[(subject.group, year)], subject.mileage_km)
            for km, price in rows[max(cut - per_side, 0) : cut + per_side]:
                factor = min(max(1 + per_km * (km - subject.mileage_km), low), high)
                adjusted.append(price * factor)
        if len(adjusted) < rules.comparable_min_count:
            return None
        return median(adjusted)


def _mdape(errors: Sequence[float]) -> float:
    import numpy as np

    return round(float(np.median(errors)) * 100, 2) if errors else float("nan")


def evaluate(
    model: ValuationModel,
    training: Sequence[Listing],
    held_out: Sequence[Listing],
    rules: RuleSet,
    *,
    as_of: date,
) -> Evaluation:
    """The model against the comparables on `held_out` (see the module docstring)."""
    import numpy as np

    if not held_out:
        return Evaluation(len(training), 0, 0, float("nan"), None, float("nan"), 0.0,
                          refusal="no held-out listings to evaluate on")  # fmt: skip
    predicted = model.predict_log(feature_matrix(held_out, model.vocabulary, as_of=as_of))
    point, low, high = (np.exp(predicted[name]) * 100 for name in ("point", "low", "high"))
    actual = np.array([listing.price_minor for listing in held_out], dtype=np.float64)
    model_errors = np.abs(point - actual) / actual
    inside = (np.minimum(low, point) <= actual) & (actual <= np.maximum(high, point))
    index = ComparablesIndex(training, rules)
    compared_model, compared_comparables = [], []
    for row, listing in enumerate(held_out):
        value = index.value_minor(listing)
        if value is not None:
            compared_model.append(float(model_errors[row]))
            compared_comparables.append(abs(value - actual[row]) / actual[row])
    model_mdape, comparables_mdape = _mdape(compared_model), _mdape(compared_comparables)
    refusal = None
    if len(compared_model) < MIN_HELD_OUT:
        refusal = (f"only {len(compared_model)} held-out vehicles have enough comparables "
                   f"to compare with (at least {MIN_HELD_OUT} needed)")  # fmt: skip
    elif not model_mdape < comparables_mdape:
        refusal = (f"model MdAPE {model_mdape} % is not below the comparables' "
                   f"{comparables_mdape} % on the same {len(compared_model)} vehicles")  # fmt: skip
    return Evaluation(
        training_rows=len(training),
        held_out_rows=len(held_out),
        compared_rows=len(compared_model),
        model_mdape=model_mdape,
        comparables_mdape=comparables_mdape if compared_comparables else None,
        model_mdape_all=_mdape([float(e) for e in model_errors]),
        interval_coverage=round(float(np.mean(inside)) * 100, 1),
        refusal=refusal,
    )
