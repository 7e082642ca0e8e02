"""The valuation model on the seeded catalog's listings: deterministic, evaluated against
the comparables, refused when worse, pinned predictions, corrupt bytes refused."""

from __future__ import annotations

import zlib
from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest

from services.pricing.model_evaluation import Evaluation, evaluate, split
from services.pricing.model_features import Listing, feature_matrix
from services.pricing.model_serving import ActiveModel, ServingModel
from services.pricing.model_training import (
    CorruptModelError,
    TrainingParameters,
    ValuationModel,
    load_model,
    train_model,
)
from services.pricing.rules import current_rules
from tests.valuation_data import TODAY, listing, seeded_listings

FAST = TrainingParameters()  # production's parameters


@pytest.fixture(scope="module")
def listings() -> list[Listing]:
    return seeded_listings(4000)


@pytest.fixture(scope="module")
def trained(listings: list[Listing]) -> tuple[ValuationModel, Evaluation]:
    training, held_out = split(listings)
    model = train_model(training, as_of=TODAY, parameters=FAST)
    return model, evaluate(model, training, held_out, current_rules(), as_of=TODAY)


def test_training_is_deterministic(
    listings: list[Listing], trained: tuple[ValuationModel, Evaluation]
) -> None:
    training, _ = split(listings)
    again = train_model(training, as_of=TODAY, parameters=FAST)
    assert again.to_bytes() == trained[0].to_bytes()


def test_the_held_out_split_is_stable_and_a_fifth() -> None:
    training, held_out = split(seeded_listings(1000))
    assert {item.vehicle_id for item in held_out} == {
        item.vehicle_id for item in split(seeded_listings(1000))[1]
    }
    assert 0.15 < len(held_out) / (len(training) + len(held_out)) < 0.25


def test_the_model_beats_the_comparables_on_held_out_vehicles(
    trained: tuple[ValuationModel, Evaluation],
) -> None:
    _, evaluation = trained
    assert evaluation.accepted, evaluation.refusal
    assert evaluation.comparables_mdape is not None
    assert evaluation.model_mdape < evaluation.comparables_mdape / 1.5
    assert evaluation.compared_rows > 500
    assert 70 <= evaluation.interval_coverage <= 90  # an 80 % interval, calibrated


def test_a_model_worse_than_the_comparables_is_refused_with_the_reason(
    listings: list[Listing],
) -> None:
    training, held_out = split(listings)
    # Three shallow rounds barely move from the catalog's average price.
    weak = train_model(training, as_of=TODAY,
                       parameters=TrainingParameters(rounds=3, num_leaves=4))  # fmt: skip
    evaluation = evaluate(weak, training, held_out, current_rules(), as_of=TODAY)
    assert not evaluation.accepted
    assert evaluation.comparables_mdape is not None
    assert evaluation.model_mdape > evaluation.comparables_mdape
    assert evaluation.refusal == (
        f"model MdAPE {evaluation.model_mdape} % is not below the comparables' "
        f"{evaluation.comparables_mdape} % on the same {evaluation.compared_rows} vehicles"
    )


def test_too_few_comparable_vehicles_prove_nothing(listings: list[Listing]) -> None:
    training, held_out = split(listings[:200])
    model = train_model(training, as_of=TODAY, parameters=FAST)
    evaluation = evaluate(model, training, held_out, current_rules(), as_of=TODAY)
    assert evaluation.refusal is not None
    assert evaluation.refusal.startswith(f"only {evaluation.compared_rows} held-out vehicles")


# Four vehicles priced by the model trained above: point value and 80 % interval in EUR.
# The model is sure of the common Golf (intervals 10 % and 12 % wide) and unsure of a 2019
# Clio and a 2024 A4 estate (38 % and 24 %: few such cars seen), where the comparables
# serve. The listings come from the demo catalog's generator: a change there moves them.
PINNED = [
    (listing(), Decimal("17970"), Decimal("16233"), Decimal("17970")),
    (listing(mileage_km=140_000), Decimal("15225"), Decimal("14084"), Decimal("15954")),
    (listing(make="Renault", model="Clio", trim="TCe 90 Evolution", year=2019,
             first_registration=date(2019, 3, 1), mileage_km=80_000, power_kw=67,
             country="FR"), Decimal("7011"), Decimal("6100"), Decimal("8751")),
    (listing(make="Audi", model="A4", trim="35 TFSI", year=2024, body_type="ESTATE",
             first_registration=date(2024, 2, 1), mileage_km=20_000, power_kw=110,
             transmission="AUTOMATIC", country="IT"),
     Decimal("28714"), Decimal("25898"), Decimal("32657")),
]  # fmt: skip


def test_predictions_for_fixed_vehicles_are_pinned(
    trained: tuple[ValuationModel, Evaluation],
) -> None:
    active = ActiveModel()
    active.current = ServingModel(1, trained[0])
    values = active.value([item for item, *_ in PINNED], as_of=TODAY)
    for (item, value, low, high), got in zip(PINNED, values, strict=True):
        assert got is not None
        # Within 1 %: the same LightGBM build gives the same figures; another may differ
        # in the last bits of its floating point.
        for pinned, predicted in ((value, got.value), (low, got.low), (high, got.high)):
            assert abs(predicted / pinned - 1) < Decimal("0.01"), (item.model, got)
        assert got.low <= got.value <= got.high


def test_stored_bytes_load_to_the_same_predictions(
    trained: tuple[ValuationModel, Evaluation], listings: list[Listing]
) -> None:
    model = trained[0]
    loaded = load_model(model.to_bytes())
    matrix = feature_matrix(listings[:50], model.vocabulary, as_of=TODAY)
    for name, values in model.predict_log(matrix).items():
        assert loaded.predict_log(matrix)[name].tolist() == values.tolist()


@pytest.mark.parametrize(
    "payload",
    [b"", b"not zlib at all", zlib.compress(b"{}"), zlib.compress(b"[1, 2]"),
     zlib.compress(b'{"format": "autobroker-valuation/1"}')],
)  # fmt: skip
def test_corrupt_bytes_are_refused(payload: bytes) -> None:
    with pytest.raises(CorruptModelError):
        load_model(payload)


def test_a_vehicle_unlike_any_seen_is_still_valued(
    trained: tuple[ValuationModel, Evaluation],
) -> None:
    active = ActiveModel()
    active.current = ServingModel(1, trained[0])
    [got] = active.value([listing(make="Unknown", model="Car", trim=None, power_kw=None,
                                  first_registration=None)], as_of=TODAY)  # fmt: skip
    assert got is not None
    assert got.value > 0


def test_without_a_model_nothing_is_valued() -> None:
    assert ActiveModel().value([listing(), listing()], as_of=TODAY) == [None, None]


def test_a_listing_valued_before_is_answered_from_the_memo_until_it_changes(
    trained: tuple[ValuationModel, Evaluation],
) -> None:
    active = ActiveModel()
    active.current = ServingModel(1, trained[0])
    [first] = active.value([listing()], as_of=TODAY)
    [again] = active.value([listing()], as_of=TODAY)
    assert again is first
    [driven] = active.value([listing(mileage_km=150_000)], as_of=TODAY)
    assert driven is not None
    assert first is not None
    assert driven.value < first.value  # a new prediction for the changed car
    active.current = ServingModel(2, trained[0])
    [switched] = active.value([listing()], as_of=TODAY)
    assert switched == replace(first, version=2)
