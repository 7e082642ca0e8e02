"""The scenarios, in the order of the table.

To add one: write a module beside this one with a `bench.scenario.Scenario` subclass (its
docstring says what to override) and add the class here. `--scenario NAME` selects by
its `name`. The buying scenarios come after the read ones: the vehicles they buy are
none the read scenarios show (bench/scenarios/buyers.py), and they run last all the same.
"""

from __future__ import annotations

from bench.scenario import Scenario
from bench.scenarios.catalog import (
    CatalogPage,
    CatalogPageByPersistedGet,
    CatalogPageCached,
    VehicleDetail,
)
from bench.scenarios.orders import OrderFlow
from bench.scenarios.subscriptions import SubscriptionFanOut

SCENARIOS: tuple[type[Scenario], ...] = (
    CatalogPage,
    CatalogPageCached,
    VehicleDetail,
    CatalogPageByPersistedGet,
    OrderFlow,
    SubscriptionFanOut,
)


def scenario_names() -> list[str]:
    return [scenario.name for scenario in SCENARIOS]
