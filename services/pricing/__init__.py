"""The pricing engine and quotes (DESIGN 6.2).

    rules.py      rates, fees and tables as data, versioned (RULES_VERSION)
    engine.py     pure: (vehicle, market data, destination, rules version) -> PricedQuote
    demand.py     pure: the bounded demand adjustment
    valuation.py  SQL: comparables and their mileage-adjusted median, batched
    cache.py      Redis: computed pricings for 5 minutes; invalidate_vehicle_quotes
    quotes.py     use-case: request_quote / quote_vehicle persist a quote; fetch_quotes
    delivered.py  catalog prices for a page of vehicles in one statement
    model_features.py    the valuation model's features (a listing -> a row of numbers)
    model_training.py    LightGBM point and interval boosters; their stored bytes
    model_evaluation.py  held-out MdAPE beside the comparables', coverage; accept or refuse
    model_store.py       versions in PostgreSQL, one active, switched in one transaction
    model_retraining.py  use-case: read the catalog, train, evaluate, store, activate
    model_serving.py     the process's serving model, polled; batched predictions

Whoever changes a vehicle's price or status calls `invalidate_vehicle_quotes(redis, id)`
after committing.
"""

from services.pricing.cache import invalidate_vehicle_quotes

__all__ = ["invalidate_vehicle_quotes"]
