"""Training the valuation model: LightGBM gradient-boosted trees on the catalog's listings.

Three boosters share the features (model_features.py): a point model of the log price
(L2 loss) and two quantile models (10th and 90th percentiles) that bound an 80 %
interval. Quantile boosters alone cover far less than 80 % of unseen prices (they fit
the training spread too closely), so the interval is conformalized (Romano et al.,
"Conformalized Quantile Regression", 2019): the quantile boosters are trained without a
calibration share of the listings, and on that share the margin that makes 80 % of
prices fall inside is measured and added to both bounds.

Training is deterministic: fixed seeds, `deterministic` and row-wise histograms, one
thread; the same listings and parameters give the same bytes.

The model's bytes are zlib-compressed JSON: the format, the vocabulary and each
booster's own text dump (LightGBM's portable format, no pickle: loading a model runs no
code). `load_model` refuses anything else with `CorruptModelError`.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

from services.pricing.model_features import (
    CATEGORICAL,
    FEATURES,
    Listing,
    feature_matrix,
    learn_vocabulary,
    log_prices,
)

if TYPE_CHECKING:
    import lightgbm as lgb

    from services.pricing.model_features import Matrix

# NumPy and LightGBM are imported where they are used: a process that serves no model
# (or a command that only lists them) never pays their seconds of import time.

MODEL_FORMAT = "autobroker-valuation/1"
INTERVAL_QUANTILES = (0.1, 0.9)  # an 80 % interval
_BOOSTERS = ("point", "low", "high")
# Quantile trees as deep as the point model's fit the training prices' spread too
# closely and cover far less than 80 % of unseen prices: smaller, fuller leaves.
_QUANTILE: dict[str, Any] = {"num_leaves": 15, "min_data_in_leaf": 50}
_CALIBRATION_PERCENT = 15
_CALIBRATION_HASH = 40_503  # another multiplier than the held-out split's


def _is_calibration(vehicle_id: int) -> bool:
    return (vehicle_id * _CALIBRATION_HASH) % 2**16 % 100 < _CALIBRATION_PERCENT


class CorruptModelError(ValueError):
    """Stored model bytes that are not a valuation model this code can read."""


@dataclass(frozen=True, slots=True)
class TrainingParameters:
    """LightGBM's knobs; the defaults are the ones the evaluation figures were made with."""

    # Measured on 20,000 seeded listings: 400 rounds at 0.05 with 63 leaves value no
    # better (MdAPE 3.33 % against 3.32 %) and cost 2.5 times the CPU per catalog page.
    rounds: int = 150
    learning_rate: float = 0.1
    num_leaves: int = 31
    min_data_in_leaf: int = 10
    seed: int = 2026


@dataclass(frozen=True, slots=True)
class ValuationModel:
    """Trained boosters and the vocabulary that codes their categorical features."""

    vocabulary: dict[str, dict[str, int]]
    boosters: dict[str, lgb.Booster] = field(repr=False)
    interval_margin: float  # added to both log bounds (conformal calibration)

    def predict_log(self, matrix: Matrix) -> dict[str, Matrix]:
        """Point and interval bounds of the log price for the rows of `matrix`."""
        import numpy as np

        point, low, high = (np.asarray(self.boosters[name].predict(matrix, num_threads=1))
                            for name in _BOOSTERS)  # fmt: skip
        margin = self.interval_margin
        return {"point": point, "low": np.minimum(low - margin, point),
                "high": np.maximum(high + margin, point)}  # fmt: skip

    def to_bytes(self) -> bytes:
        """The storable form (see the module docstring)."""
        document = {
            "format": MODEL_FORMAT,
            "features": list(FEATURES),
            "vocabulary": self.vocabulary,
            "interval_margin": self.interval_margin,
            "boosters": {name: self.boosters[name].model_to_string() for name in _BOOSTERS},
        }
        return zlib.compress(json.dumps(document, sort_keys=True).encode(), level=6)


def _params(objective: str, parameters: TrainingParameters, **extra: Any) -> dict[str, Any]:
    return {
        "objective": objective,
        "learning_rate": parameters.learning_rate,
        "num_leaves": parameters.num_leaves,
        "min_data_in_leaf": parameters.min_data_in_leaf,
        "seed": parameters.seed,
        "deterministic": True,
        "force_row_wise": True,
        "num_threads": 1,
        "verbosity": -1,
        **extra,
    }


def train_model(
    listings: Sequence[Listing], *, as_of: date, parameters: TrainingParameters | None = None
) -> ValuationModel:
    """Boosters trained on `listings` (their asking prices are the target)."""
    import numpy as np

    if not listings:
        raise ValueError("no listings to train on")
    parameters = parameters or TrainingParameters()
    vocabulary = learn_vocabulary(listings)
    matrix, target = feature_matrix(listings, vocabulary, as_of=as_of), log_prices(listings)
    calibration = np.array([_is_calibration(listing.vehicle_id) for listing in listings])
    if calibration.all() or not calibration.any():
        calibration[:] = False
        calibration[:: max(len(listings) // 7, 1)] = True
    fitted = ~calibration
    boosters = {"point": _booster(matrix, target, _params("regression", parameters), parameters)}
    for name, alpha in zip(("low", "high"), INTERVAL_QUANTILES, strict=True):
        params = _params("quantile", parameters, alpha=alpha, **_QUANTILE)
        boosters[name] = _booster(matrix[fitted], target[fitted], params, parameters)
    held, truth = matrix[calibration], target[calibration]
    scores = np.maximum(boosters["low"].predict(held, num_threads=1) - truth,
                        truth - boosters["high"].predict(held, num_threads=1))  # fmt: skip
    coverage = INTERVAL_QUANTILES[1] - INTERVAL_QUANTILES[0]
    level = min(coverage * (1 + 1 / len(scores)), 1.0)  # the finite-sample correction
    margin = float(np.quantile(scores, level, method="higher"))
    return ValuationModel(vocabulary, boosters, interval_margin=margin)


def _booster(
    matrix: Matrix, target: Matrix, params: dict[str, Any], parameters: TrainingParameters
) -> lgb.Booster:
    import lightgbm as lgb

    data = lgb.Dataset(matrix, target, feature_name=list(FEATURES),
                       categorical_feature=list(range(len(CATEGORICAL))))  # fmt: skip
    return lgb.train(params, data, num_boost_round=parameters.rounds)


def load_model(payload: bytes) -> ValuationModel:
    """The model stored as `payload`; `CorruptModelError` when it is not one."""
    import lightgbm as lgb

    try:
        document = json.loads(zlib.decompress(payload))
        if document.get("format") != MODEL_FORMAT or document.get("features") != list(FEATURES):
            raise CorruptModelError("not a valuation model of this format")
        boosters = {name: lgb.Booster(model_str=document["boosters"][name]) for name in _BOOSTERS}
        vocabulary = {name: dict(document["vocabulary"][name]) for name in CATEGORICAL}
        margin = float(document["interval_margin"])
    except CorruptModelError:
        raise
    except (
        ValueError,
        KeyError,
        TypeError,
        AttributeError,
        zlib.error,
        lgb.basic.LightGBMError,
    ) as error:
        raise CorruptModelError(f"unreadable valuation model: {error}") from error
    return ValuationModel(vocabulary, boosters, interval_margin=margin)
