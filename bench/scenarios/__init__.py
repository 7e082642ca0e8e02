"""The scenarios, in the order of the table.

To add one (the order flow, the subscription fan-out): write a module beside this one
with a `bench.scenario.Scenario` subclass (its docstring says what to override) and add
the class here. `--scenario NAME` selects by its `name`.
"""

from __future__ import annotations

from bench.scenario import Scenario
from bench.scenarios.catalog import CatalogPage, CatalogPageByPersistedGet, VehicleDetail

SCENARIOS: tuple[type[Scenario], ...] = (CatalogPage, VehicleDetail, CatalogPageByPersistedGet)


def scenario_names() -> list[str]:
    return [scenario.name for scenario in SCENARIOS]
