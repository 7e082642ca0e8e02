"""Pure generators of demo dealer and vehicle rows, in COPY column order.

The vehicle loop runs a million times: every choice is a lookup in a table built once
(index by `int(random() * len)`) and only `random()` and `gauss()` are drawn per row.
"""

from __future__ import annotations

import bisect
import math
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import NamedTuple, TypeVar

from models.vehicle import CurrencyCode, FuelType, Transmission, VehicleStatus
from services.vehicles.seed_dealer_data import MARKETS
from services.vehicles.seed_vehicle_data import (
    AGE_WEIGHTS,
    ANNUAL_KM,
    COLOURS,
    MAKES,
    MODELS,
    ModelSpec,
    TrimSpec,
)
from services.vehicles.vin import SERIAL_CAPACITY, make_vin

FIRST_MODEL_YEAR = 2012
LISTING_WINDOW = timedelta(days=120)
_LISTING_WINDOW_SECONDS = LISTING_WINDOW.total_seconds()
_AVERAGE_ANNUAL_KM = 14_000
_LIST_PRICE_INFLATION = 1.025  # list prices rise yearly: an older model year cost less new
# Listing statuses by cumulative share: 92 % available, 8 % withdrawn. Never RESERVED or
# SOLD: those belong to an order (services/vehicles/holds.py), which the seed does not make.
_STATUSES = tuple(status.value for status in (VehicleStatus.AVAILABLE, VehicleStatus.WITHDRAWN))
_STATUS_THRESHOLDS = (0.92,)
# Residual value as a share of the new price: floor + (start - floor) * decay ** years.
_RESIDUAL_CURVES: dict[FuelType, tuple[float, float, float]] = {
    FuelType.ELECTRIC: (0.10, 0.88, 0.82),
    FuelType.HYBRID: (0.18, 0.90, 0.87),
    FuelType.PLUG_IN_HYBRID: (0.12, 0.88, 0.84),
}
_DEFAULT_RESIDUAL_CURVE = (0.15, 0.90, 0.86)

T = TypeVar("T")


class DealerRow(NamedTuple):
    id: int
    name: str
    country: str
    city: str
    rating: Decimal
    created_at: datetime
    updated_at: datetime


class VehicleRow(NamedTuple):
    vin: str
    make: str
    model: str
    trim: str
    year: int
    first_registration: date | None
    mileage_km: int
    fuel: str
    transmission: str
    body_type: str
    colour: str
    power_kw: int
    co2_g_km: int
    location_country: str
    location_city: str
    dealer_id: int
    price_minor: int
    currency: str
    status: str
    created_at: datetime
    updated_at: datetime


DEALER_COLUMNS: tuple[str, ...] = DealerRow._fields
VEHICLE_COLUMNS: tuple[str, ...] = VehicleRow._fields


def generate_dealers(ids: Sequence[int], *, seed: int, now: datetime) -> list[DealerRow]:
    """One dealer per id, spread over the markets by size (each market once when possible)."""
    rng = random.Random(f"{seed}:dealers")  # noqa: S311 - demo data, reproducible by design
    markets = {market.country: market for market in MARKETS}
    countries = _apportion(len(ids))
    rng.shuffle(countries)
    used_names: set[str] = set()
    rows = []
    for dealer_id, country in zip(ids, countries, strict=True):
        market = markets[country]
        # Cities are listed largest first: bigger cities have more dealers.
        city_weights = [1 / (rank + 1) ** 0.7 for rank in range(len(market.cities))]
        city = rng.choices(market.cities, weights=city_weights)[0]
        for _attempt in range(10):
            surname = rng.choice(market.surnames)
            name = rng.choice(market.name_patterns).format(surname=surname, city=city)
            if name not in used_names:
                break
        used_names.add(name)
        rating = Decimal(round(rng.triangular(30, 50, 44))).scaleb(-1)
        # Dealers joined before the listing window, so their listings come after them.
        joined = now - timedelta(days=rng.uniform(150, 1500))
        rows.append(DealerRow(dealer_id, name, country, city, rating, joined, joined))
    return rows


def generate_vehicles(
    dealers: Sequence[DealerRow],
    count: int,
    *,
    seed: int,
    now: datetime,
    first_serial: int = 0,
) -> Iterator[VehicleRow]:
    """`count` vehicles listed by `dealers` in the 120 days before `now`, generated lazily.

    Vehicle i gets VIN serial index `first_serial + i`: distinct indexes, distinct VINs.
    """
    if count < 0:
        raise ValueError("count must not be negative")
    if count and not dealers:
        raise ValueError("vehicles need at least one dealer")
    rng = random.Random(f"{seed}:vehicles")  # noqa: S311 - demo data, reproducible by design
    # Dealer sizes follow a Pareto law: a few large dealers list most vehicles.
    dealer_table = _lookup_table(dealers, [min(rng.paretovariate(1.2), 25) for _ in dealers])
    plans = _plan_models(now.astimezone(UTC).year)
    model_tables = {
        country: _lookup_table(plans, [_model_weight(plan, country) for plan in plans])
        for country in {dealer.country for dealer in dealers}
    }
    return _vehicle_rows(
        rng, dealer_table, model_tables, range(first_serial, first_serial + count), now
    )


def _vehicle_rows(
    rng: random.Random,
    dealer_table: list[DealerRow],
    model_tables: dict[str, list[_ModelPlan]],
    serials: range,
    now: datetime,
) -> Iterator[VehicleRow]:
    rand, gauss = rng.random, rng.gauss
    current_year = now.astimezone(UTC).year
    colour_table = _lookup_table([name for name, _ in COLOURS], [share for _, share in COLOURS])
    automatic, manual = Transmission.AUTOMATIC.value, Transmission.MANUAL.value
    currency = CurrencyCode.EUR.value

    for serial in serials:
        dealer = dealer_table[int(rand() * len(dealer_table))]
        models = model_tables[dealer.country]
        plan = models[int(rand() * len(models))]
        year = plan.years[int(rand() * len(plan.years))]
        trim = plan.trims[int(rand() * len(plan.trims))]
        spec = trim.spec
        created_at = now - timedelta(seconds=rand() * _LISTING_WINDOW_SECONDS)
        age = current_year - year
        new_price = spec.price_eur / _LIST_PRICE_INFLATION**age
        if age == 0:
            first_registration = None
            mileage = int(rand() * 50)
            value = new_price * (0.92 + 0.08 * rand())  # new cars: a dealer discount
        else:
            # Registered in its model year, and no later than the listing.
            january_first = date(year, 1, 1).toordinal()
            latest = min(_days_in_year(year), created_at.toordinal() - january_first + 1)
            registered = january_first + int(rand() * latest)
            first_registration = date.fromordinal(registered)
            years_used = max(created_at.toordinal() - registered, 1) / 365.25
            mileage = int(years_used * trim.annual_km * math.exp(0.35 * gauss(0.0, 1.0)))
            floor, start, decay = trim.residual_curve
            residual = floor + (start - floor) * decay**years_used
            surplus_km = mileage - years_used * _AVERAGE_ANNUAL_KM
            mileage_factor = min(max(1 - surplus_km / 400_000, 0.7), 1.12)
            value = new_price * residual * mileage_factor * (0.93 + 0.14 * rand())
        # The factors above are a statistical model, not money: the asking price becomes
        # integer cents here, rounded to whole 10 euros as dealers advertise it.
        price_minor = max(round(value / 10), 50) * 1000
        status = _STATUSES[bisect.bisect_right(_STATUS_THRESHOLDS, rand())]
        updated_at = created_at
        if status != VehicleStatus.AVAILABLE:
            updated_at = created_at + (now - created_at) * rand()  # the day it changed
        yield VehicleRow(
            vin=make_vin(rng, plan.wmi, year, vds=trim.vds, serial=serial % SERIAL_CAPACITY),
            make=plan.make,
            model=plan.model,
            trim=spec.name,
            year=year,
            first_registration=first_registration,
            mileage_km=mileage,
            fuel=spec.fuel.value,
            transmission=automatic if rand() < spec.automatic_share else manual,
            body_type=plan.body_type,
            colour=colour_table[int(rand() * len(colour_table))],
            power_kw=spec.power_kw,
            co2_g_km=spec.co2_g_km,
            location_country=dealer.country,
            location_city=dealer.city,
            dealer_id=dealer.id,
            price_minor=price_minor,
            currency=currency,
            status=status,
            created_at=created_at,
            updated_at=updated_at,
        )


@dataclass(frozen=True, slots=True)
class _TrimPlan:
    spec: TrimSpec
    vds: str  # fixed per trim: the descriptor section encodes model, body and engine
    annual_km: int
    residual_curve: tuple[float, float, float]


@dataclass(frozen=True, slots=True)
class _ModelPlan:
    make: str
    model: str
    body_type: str
    wmi: str
    popularity: int
    years: list[int]
    trims: list[_TrimPlan]


def _plan_models(current_year: int) -> list[_ModelPlan]:
    """The models on the market in some year from FIRST_MODEL_YEAR to `current_year`."""
    plans = []
    for spec in MODELS:
        last_year = min(spec.last_year or current_year, current_year)
        years = range(max(spec.first_year, FIRST_MODEL_YEAR), last_year + 1)
        if not years:
            continue
        oldest = len(AGE_WEIGHTS) - 1
        age_weights = [AGE_WEIGHTS[min(current_year - year, oldest)] for year in years]
        # Base trims sell best: weight falls with the trim's rank.
        trim_weights = [len(spec.trims) - rank + 1 for rank in range(len(spec.trims))]
        trims = [_plan_trim(spec, trim) for trim in spec.trims]
        plans.append(
            _ModelPlan(
                make=spec.make,
                model=spec.model,
                body_type=spec.body_type.value,
                wmi=spec.wmi or MAKES[spec.make].wmi,
                popularity=spec.popularity,
                years=_lookup_table(list(years), age_weights),
                trims=_lookup_table(trims, trim_weights),
            )
        )
    if not plans:
        raise ValueError(f"no model of the catalog was on sale by {current_year}")
    return plans


def _plan_trim(model: ModelSpec, trim: TrimSpec) -> _TrimPlan:
    # Independent of the seed: a given trim always carries the same descriptor section.
    vds_rng = random.Random(f"vds:{model.make}:{model.model}:{trim.name}")  # noqa: S311
    vds = make_vin(vds_rng, "AAA", FIRST_MODEL_YEAR)[3:8]
    curve = _RESIDUAL_CURVES.get(trim.fuel, _DEFAULT_RESIDUAL_CURVE)
    return _TrimPlan(trim, vds, ANNUAL_KM[trim.fuel], curve)


def _model_weight(plan: _ModelPlan, country: str) -> float:
    # Buyers favour their home brands (French cars in France, Skodas in Czechia).
    home_bonus = 2.5 if MAKES[plan.make].home_country == country else 1.0
    return plan.popularity * home_bonus


def _lookup_table(items: Sequence[T], weights: Sequence[float], size: int = 4096) -> list[T]:
    """`items` repeated in proportion to `weights`, so a uniform index draws by weight."""
    if not items:
        return []
    total = sum(weights)
    table: list[T] = []
    cumulative = 0.0
    for item, weight in zip(items, weights, strict=True):
        cumulative += weight
        # At least one slot each, so that no item (however rare) is unreachable.
        table.extend([item] * max(round(cumulative / total * size) - len(table), 1))
    return table


def _apportion(count: int) -> list[str]:
    """Countries for `count` dealers: one per market first, the rest by market weight."""
    markets = sorted(MARKETS, key=lambda market: -market.weight)
    if count <= len(markets):
        return [market.country for market in markets[:count]]
    total = sum(market.weight for market in markets)
    quotas = [(count - len(markets)) * market.weight / total for market in markets]
    seats = [1 + int(quota) for quota in quotas]
    by_remainder = sorted(range(len(markets)), key=lambda i: int(quotas[i]) - quotas[i])
    for i in by_remainder[: count - sum(seats)]:
        seats[i] += 1
    return [market.country for market, n in zip(markets, seats, strict=True) for _ in range(n)]


def _days_in_year(year: int) -> int:
    return date(year + 1, 1, 1).toordinal() - date(year, 1, 1).toordinal()
