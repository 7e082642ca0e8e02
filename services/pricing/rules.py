"""Pricing rules as data: rates, fees and tables, versioned by a rules version.

Every figure here is data, not code: a change of rate or fee is a new `RuleSet` under a
new version (quotes record the version they applied, so old quotes stay explainable).
Amounts are EUR `Decimal`s. Sources and assumptions are noted beside each table.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from types import MappingProxyType

from models.quote import QuoteLineKind, VatScheme
from services.countries import EU_MEMBER_STATES
from services.pricing.errors import UnknownRulesVersionError

RULES_VERSION = "2026-11"
CURRENCY = "EUR"

# Standard VAT rates of the 27 EU member states. Source: European Commission, "VAT rates
# applied in the Member States of the European Union" (taxation-customs.ec.europa.eu),
# with the changes announced since its 2024 edition: FI 25.5 % (1 Sep 2024), SK 23 %
# (1 Jan 2025), EE 24 % (1 Jul 2025), RO 21 % (1 Aug 2025).
VAT_STANDARD_RATES: Mapping[str, Decimal] = MappingProxyType({
    "AT": Decimal("0.20"), "BE": Decimal("0.21"), "BG": Decimal("0.20"),
    "HR": Decimal("0.25"), "CY": Decimal("0.19"), "CZ": Decimal("0.21"),
    "DK": Decimal("0.25"), "EE": Decimal("0.24"), "FI": Decimal("0.255"),
    "FR": Decimal("0.20"), "DE": Decimal("0.19"), "GR": Decimal("0.24"),
    "HU": Decimal("0.27"), "IE": Decimal("0.23"), "IT": Decimal("0.22"),
    "LV": Decimal("0.21"), "LT": Decimal("0.21"), "LU": Decimal("0.17"),
    "MT": Decimal("0.18"), "NL": Decimal("0.21"), "PL": Decimal("0.23"),
    "PT": Decimal("0.23"), "RO": Decimal("0.21"), "SK": Decimal("0.23"),
    "SI": Decimal("0.22"), "ES": Decimal("0.21"), "SE": Decimal("0.25"),
})  # fmt: skip
EU_COUNTRIES = EU_MEMBER_STATES

# Registration fee a buyer pays in the destination country, EUR. Assumption: the
# administrative charges only (registration certificate, plates, transfer fees, and
# Italy's flat provincial IPT at its typical level), rounded to 10 EUR from the national
# authorities' published tariffs. One-off registration *taxes* that depend on CO2 or
# value (NL BPM, DK registreringsafgift, FI autovero, IE VRT, PT ISV, AT NoVA, BE TMC...)
# are not in this rules version: the quote's label says "fee", and a later version may
# model them per country.
REGISTRATION_FEES: Mapping[str, Decimal] = MappingProxyType({
    "AT": Decimal("200"), "BE": Decimal("60"), "BG": Decimal("100"),
    "HR": Decimal("150"), "CY": Decimal("150"), "CZ": Decimal("150"),
    "DK": Decimal("150"), "EE": Decimal("150"), "FI": Decimal("150"),
    "FR": Decimal("300"), "DE": Decimal("150"), "GR": Decimal("200"),
    "HU": Decimal("200"), "IE": Decimal("150"), "IT": Decimal("650"),
    "LV": Decimal("150"), "LT": Decimal("100"), "LU": Decimal("100"),
    "MT": Decimal("200"), "NL": Decimal("100"), "PL": Decimal("70"),
    "PT": Decimal("70"), "RO": Decimal("120"), "SK": Decimal("150"),
    "SI": Decimal("150"), "ES": Decimal("100"), "SE": Decimal("60"),
})  # fmt: skip

# Transport: a car-carrier estimate between representative points of two countries.
# Assumptions: each country is represented by its approximate geographic centre (for SE
# and FI a point in the populated south, where the cars are); road distance is the
# great-circle distance times a detour factor of 1.3; price = base + rate per road km,
# rounded to 10 EUR; a vehicle that stays in its country pays the domestic flat rate;
# crossing to an island state adds its ferry surcharge once.
COUNTRY_POINTS: Mapping[str, tuple[float, float]] = MappingProxyType({
    "AT": (47.6, 14.1), "BE": (50.6, 4.7), "BG": (42.8, 25.2), "HR": (45.4, 16.0),
    "CY": (35.1, 33.2), "CZ": (49.8, 15.4), "DK": (56.0, 10.0), "EE": (58.7, 25.5),
    "FI": (61.5, 24.5), "FR": (46.6, 2.4), "DE": (51.2, 10.4), "GR": (39.1, 22.9),
    "HU": (47.2, 19.4), "IE": (53.2, -8.1), "IT": (42.8, 12.6), "LV": (56.9, 24.9),
    "LT": (55.3, 23.9), "LU": (49.8, 6.1), "MT": (35.9, 14.4), "NL": (52.2, 5.6),
    "PL": (52.1, 19.4), "PT": (39.6, -8.0), "RO": (45.9, 25.0), "SK": (48.7, 19.7),
    "SI": (46.1, 14.8), "ES": (40.2, -3.6), "SE": (59.3, 15.5),
})  # fmt: skip
ROAD_DETOUR_FACTOR = 1.3
TRANSPORT_BASE = Decimal("300")
TRANSPORT_PER_KM = Decimal("0.55")
TRANSPORT_DOMESTIC = Decimal("250")
# Ferry legs: Cyprus by RoRo from Piraeus, Malta from Sicily, Ireland from Cherbourg.
FERRY_SURCHARGES: Mapping[str, Decimal] = MappingProxyType(
    {"CY": Decimal("900"), "MT": Decimal("450"), "IE": Decimal("350")}
)
_EARTH_RADIUS_KM = 6371.0


def road_distance_km(origin: str, destination: str) -> int:
    """Estimated road kilometres between two countries' representative points."""
    (lat1, lon1), (lat2, lon2) = COUNTRY_POINTS[origin], COUNTRY_POINTS[destination]
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi, dlambda = phi2 - phi1, math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlambda / 2) ** 2
    great_circle = 2 * _EARTH_RADIUS_KM * math.asin(math.sqrt(a))
    return round(great_circle * ROAD_DETOUR_FACTOR)


def _transport_price(origin: str, destination: str) -> Decimal:
    if origin == destination:
        return TRANSPORT_DOMESTIC
    price = TRANSPORT_BASE + TRANSPORT_PER_KM * road_distance_km(origin, destination)
    price += FERRY_SURCHARGES.get(origin, Decimal(0)) + FERRY_SURCHARGES.get(
        destination, Decimal(0)
    )
    return price.quantize(Decimal("1E+1"), ROUND_HALF_UP).quantize(Decimal("1"))


# The country-pair table (origin, destination) -> EUR, built once from the estimate above.
TRANSPORT_TABLE: Mapping[tuple[str, str], Decimal] = MappingProxyType(
    {(a, b): _transport_price(a, b) for a in COUNTRY_POINTS for b in COUNTRY_POINTS}
)


@dataclass(frozen=True, slots=True)
class RuleSet:
    """Everything the engine and the valuation read, under one version."""

    version: str
    currency: str
    vat_rates: Mapping[str, Decimal]
    registration_fees: Mapping[str, Decimal]
    transport: Mapping[tuple[str, str], Decimal]
    # Broker fee: a share of the vehicle price, kept between a floor and a ceiling.
    broker_fee_rate: Decimal
    broker_fee_floor: Decimal
    broker_fee_ceiling: Decimal
    # Lines that carry VAT under each scheme. Used cars are sold under the margin scheme
    # (Directive 2006/112/EC art. 311-325): VAT on the dealer's margin is not shown, so
    # the vehicle line carries none; the broker's services do. New vehicles (art. 2(2)(b):
    # at most 6 months since first entry into service or at most 6,000 km) are taxed in
    # the destination country on every line, as DESIGN 6.2 states. Simplification kept
    # from DESIGN 6.2: the registration fee is treated as taxable, although a member
    # state's own fee is often a disbursement outside the scope of VAT.
    taxable_lines: Mapping[VatScheme, frozenset[QuoteLineKind]]
    new_vehicle_max_km: int
    new_vehicle_max_months: int
    # Demand adjustment: a surcharge on the vehicle price that grows with the share of
    # comparable listings currently reserved, between 0 and `demand_max_rate`. The share
    # is reserved / (listed + demand_prior_listings): the prior shrinks thin evidence
    # (1 reserved of 2) towards no adjustment. It never discounts: a lower price than
    # the dealer's asking price is not the broker's to give.
    demand_max_rate: Decimal
    demand_sensitivity: Decimal
    demand_prior_listings: int
    # Market valuation: comparables are the same make and model, model year within
    # `comparable_year_window`, not withdrawn. Each comparable's price is moved to the
    # subject's mileage by `mileage_factor_per_km` per km of difference (a comparable
    # with more km was worth more at the subject's km), the factor clamped to
    # [mileage_factor_min, mileage_factor_max]; the market value is their median.
    # Assumption: 0.2 % of value per 1,000 km, in line with the depreciation of
    # 3-6-year-old cars at 15,000 km a year losing 8-12 % a year. Per model year, at most
    # `comparable_nearest_per_side` comparables above the subject's mileage and as many
    # below are used, the nearest: the least adjusted, and a bounded cost (valuation.py).
    comparable_year_window: int
    comparable_nearest_per_side: int
    comparable_min_count: int
    mileage_factor_per_km: Decimal
    mileage_factor_min: Decimal
    mileage_factor_max: Decimal
    # Within +-fair_band of the market value an asking price is FAIR.
    fair_band: Decimal
    # The valuation model's value replaces the comparables' when its 80 % interval is at
    # most this share of the value wide. Assumption: the held-out MdAPE of a good model
    # is 3-4 % and its typical interval 12-16 % wide; wider than 20 % means the model saw
    # too few cars like this one (a rare model, year or trim), where it guesses.
    model_max_interval_share: Decimal


_ALL_LINES = frozenset(QuoteLineKind)

RULES: Mapping[str, RuleSet] = MappingProxyType({
    RULES_VERSION: RuleSet(
        version=RULES_VERSION,
        currency=CURRENCY,
        vat_rates=VAT_STANDARD_RATES,
        registration_fees=REGISTRATION_FEES,
        transport=TRANSPORT_TABLE,
        # Assumption: in line with European car-import services (2-3 %, from ~300 EUR).
        broker_fee_rate=Decimal("0.025"),
        broker_fee_floor=Decimal("290"),
        broker_fee_ceiling=Decimal("1490"),
        taxable_lines=MappingProxyType({
            VatScheme.MARGIN: _ALL_LINES - {QuoteLineKind.VEHICLE_PRICE},
            VatScheme.NEW_VEHICLE: _ALL_LINES,
        }),
        new_vehicle_max_km=6000,
        new_vehicle_max_months=6,
        demand_max_rate=Decimal("0.03"),
        demand_sensitivity=Decimal("0.25"),
        demand_prior_listings=10,
        comparable_year_window=1,
        comparable_nearest_per_side=50,
        comparable_min_count=5,
        mileage_factor_per_km=Decimal("0.000002"),
        mileage_factor_min=Decimal("0.75"),
        mileage_factor_max=Decimal("1.25"),
        fair_band=Decimal("0.05"),
        model_max_interval_share=Decimal("0.20"),
    ),
})  # fmt: skip


def rules_for(version: str) -> RuleSet:
    """The rule set of `version`; `UnknownRulesVersionError` if there is none."""
    try:
        return RULES[version]
    except KeyError:
        raise UnknownRulesVersionError(version) from None


def current_rules() -> RuleSet:
    """The rule set new quotes are made with."""
    return RULES[RULES_VERSION]
