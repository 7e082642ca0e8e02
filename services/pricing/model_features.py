"""What the valuation model reads of a listing, and how it becomes a feature matrix.

Categorical columns (make and model, trim, fuel, transmission, body type, country) are
coded by a vocabulary learned at training time and kept with the model: a value the
training data never held is NaN (LightGBM's missing), not an error. Numeric columns are
the model year, the age in years at valuation time, the mileage and the mileage per
year of age (how hard the car was driven), the power, and the months since first
registration (NaN for a car never registered). The target is the log of the asking
price: errors are relative, as prices are compared.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    Matrix = npt.NDArray[np.float64]

# NumPy and LightGBM are imported where they are used: a process that serves no model
# (or a command that only lists them) never pays their seconds of import time.

CATEGORICAL = ("make_model", "trim", "fuel", "transmission", "body_type", "country")
NUMERIC = ("year", "age_years", "mileage_km", "km_per_year", "power_kw", "registered_months")
FEATURES = CATEGORICAL + NUMERIC


@dataclass(frozen=True, slots=True)
class Listing:
    """A vehicle as the model sees it; `price_minor` is its asking price (the target)."""

    vehicle_id: int
    make: str
    model: str
    trim: str | None
    year: int
    first_registration: date | None
    mileage_km: int
    fuel: str
    transmission: str
    body_type: str
    power_kw: int | None
    country: str
    price_minor: int = 0
    status: str = "AVAILABLE"

    @property
    def group(self) -> str:
        """Make and model, case aside: the comparables' grouping too."""
        return f"{self.make.strip().lower()}/{self.model.strip().lower()}"


def _categories(listing: Listing) -> tuple[str, ...]:
    trim = (listing.trim or "").strip().lower()
    return (
        listing.group,
        f"{listing.group}/{trim}",  # a trim name means something only within its model
        listing.fuel,
        listing.transmission,
        listing.body_type,
        listing.country,
    )


def learn_vocabulary(listings: Iterable[Listing]) -> dict[str, dict[str, int]]:
    """Each categorical column's values, coded 0.. in sorted order (stable across runs)."""
    seen: dict[str, set[str]] = {name: set() for name in CATEGORICAL}
    for listing in listings:
        for name, value in zip(CATEGORICAL, _categories(listing), strict=True):
            seen[name].add(value)
    return {name: {value: code for code, value in enumerate(sorted(values))}
            for name, values in seen.items()}  # fmt: skip


def _months_between(earlier: date, later: date) -> float:
    return (later.toordinal() - earlier.toordinal()) / 30.4375


def feature_matrix(
    listings: Sequence[Listing], vocabulary: Mapping[str, Mapping[str, int]], *, as_of: date
) -> Matrix:
    """One row per listing, columns in FEATURES order."""
    import numpy as np

    matrix = np.full((len(listings), len(FEATURES)), np.nan, dtype=np.float64)
    codes = [vocabulary[name] for name in CATEGORICAL]
    offset = len(CATEGORICAL)
    for row, listing in enumerate(listings):
        for column, (coding, value) in enumerate(zip(codes, _categories(listing), strict=True)):
            code = coding.get(value)
            if code is not None:
                matrix[row, column] = code
        age = max(as_of.year - listing.year + (as_of.timetuple().tm_yday - 1) / 365.25, 0.0)
        registered = listing.first_registration
        matrix[row, offset : offset + len(NUMERIC)] = (
            listing.year,
            age,
            listing.mileage_km,
            listing.mileage_km / max(age, 0.5),
            math.nan if listing.power_kw is None else listing.power_kw,
            math.nan if registered is None else max(_months_between(registered, as_of), 0.0),
        )
    return matrix


def log_prices(listings: Sequence[Listing]) -> Matrix:
    """The target: natural log of each asking price in major units."""
    import numpy as np

    return np.log(np.array([listing.price_minor / 100 for listing in listings], dtype=np.float64))
