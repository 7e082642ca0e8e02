"""One feed row to the vehicle columns it lists, or the reasons it cannot be listed.

Normalisation (pure; tests/unit/test_feed_normalisation.py):
- columns by name, whatever their casing or style ("Mileage (km)", "mileageKm"), with
  the aliases of vocabulary.COLUMNS; unknown columns are ignored;
- mileage in km; miles (a `mileage_miles` column, a `mi`/`miles` suffix, or
  `mileage_unit`) are converted and rounded to the kilometre; power in kW from hp or PS;
- fuel, gearbox and body names from vocabulary (Benzin, essence, EV, PHEV, Kombi…);
- make and model as the catalog spells them when it knows them ("VW" -> "Volkswagen",
  "golf" -> "Golf"); other all-lower or all-upper makes in title case, other models as
  given; text trimmed, inner whitespace collapsed; colour capitalised;
- prices are exact decimals, never floats ("18990", "18 990,50", "18.990,50 EUR",
  "€18,990.50"; a lone separator followed by exactly three digits groups thousands),
  stored in minor units; more than two decimals is refused rather than rounded.
The listing rules (VIN, year, ranges, EU country) are listing.listing_problems: one place.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from models.vehicle import CurrencyCode
from services import money
from services.countries import normalise_country
from services.errors import FieldProblem
from services.feeds import vocabulary as words
from services.feeds.values import RowReader, given
from services.vehicles.listing import listing_problems
from services.vehicles.vin import normalise_vin

MAX_EXTERNAL_ID = 120
_PRICE = re.compile(r"(?P<pre>[A-Za-z]{3}|€)?\s*(?P<number>-?[\d.,' _\u00a0\u202f]*\d)\s*"
                    r"(?P<post>[A-Za-z]{3}|€)?")  # fmt: skip
_GRAMS_PER_KM = {"g km": Decimal(1), "g": Decimal(1)}
_DATE_FORMATS = ("%Y-%m-%d", "%d.%m.%Y", "%d/%m/%Y", "%Y-%m", "%m/%Y")
_CURRENCIES = frozenset(CurrencyCode)
# listing_problems speaks of stored columns; a feed names its own.
_FEED_FIELD = {"price_minor": "price"}
_STORED = {"price": "price_minor"}


@dataclass(frozen=True, slots=True)
class Listing:
    """A valid row: the vehicle columns it sets, under (source, external_id)."""

    external_id: str
    values: dict[str, Any]


@dataclass(frozen=True, slots=True)
class RowOutcome:
    """A row read: its listing, or the problems that keep it out (and its external id)."""

    external_id: str | None
    listing: Listing | None
    problems: tuple[FieldProblem, ...]


_KM = {**dict.fromkeys(words.KILOMETRE_UNITS, Decimal(1)),
       **dict.fromkeys(words.MILE_UNITS, words.KM_PER_MILE)}  # fmt: skip


def _mileage(row: RowReader) -> int | None:
    if given(row, "mileage_km"):
        return row.measure("mileage_km", _KM, "km")
    if given(row, "mileage_miles"):
        return row.measure("mileage_miles", _KM, "mi")
    return row.measure("mileage", _KM, row.text("mileage_unit") or "km")


def _power(row: RowReader) -> int | None:
    for field, unit in (("power_kw", "kw"), ("power_hp", "hp"), ("power_ps", "ps")):
        if given(row, field):
            return row.measure(field, words.KW_PER_UNIT, unit)
    return row.measure("power", words.KW_PER_UNIT, "kw")


def _integer(row: RowReader, field: str) -> int | None:
    number = row.number(field)
    if number is not None and number != number.to_integral_value():
        row.refuse(field, "NOT_AN_INTEGER", "A whole number.")
        return None
    return None if number is None else int(number)


def _price(row: RowReader) -> tuple[int | None, str | None]:
    """(price in minor units, currency written with it)."""
    value = row.raw.get("price")
    if isinstance(value, int | Decimal) and not isinstance(value, bool):
        amount: Decimal | None = Decimal(value)
        written = None
    else:
        text = row.text("price")
        match = None if text is None else _PRICE.fullmatch(text)
        if text is not None and match is None:
            row.refuse("price", "NOT_A_NUMBER", f"{text!r} is not a price.")
        if match is None:
            return None, None
        code = match["pre"] or match["post"]
        written = None if code is None else ("EUR" if code == "€" else code.upper())
        amount = row.number("price", match["number"])
    if amount is None:
        return None, written
    try:
        return money.to_minor(amount), written
    except money.InexactAmountError:
        row.refuse("price", "PRICE_PRECISION", "At most two decimals.")
        return None, written


def _currency(row: RowReader, written: str | None) -> str | None:
    given = row.text("currency")
    code = (given or written or CurrencyCode.EUR.value).upper()
    if given and written and given.upper() != written:
        row.refuse("currency", "CURRENCY_MISMATCH", f"The price is in {written}, not {code}.")
    if code not in _CURRENCIES:
        row.refuse("currency", "CURRENCY_UNSUPPORTED", "An EU currency (ISO 4217).")
        return None
    return code


def _date(row: RowReader, field: str) -> date | None:
    text = row.text(field)
    if text is None:
        return None
    for pattern in _DATE_FORMATS:
        try:
            return datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    row.refuse(field, "NOT_A_DATE", "A date such as 2021-03-15 or 2021-03.")
    return None


def _make(text: str | None) -> str | None:
    if text is None:
        return None
    known = words.MAKE_NAMES.get(words.fold(text))
    if known is not None:
        return known
    return text.title() if text.islower() or (text.isupper() and len(text) > 3) else text


def _model(make: str | None, text: str | None) -> str | None:
    if text is None:
        return None
    known = words.MODEL_NAMES.get((make or "", words.fold(text)))
    if known is not None:
        return known
    return text[0].upper() + text[1:] if text.islower() else text


def _colour(text: str | None) -> str | None:
    if text is None or not (text.islower() or text.isupper()):
        return text
    return text.capitalize()


def _external_id(row: RowReader) -> str | None:
    external_id = row.text("external_id")
    if external_id is not None and len(external_id) > MAX_EXTERNAL_ID:
        row.refuse("external_id", "TEXT_LENGTH", f"1 to {MAX_EXTERNAL_ID} characters.")
    return external_id


def _require(row: RowReader, values: Mapping[str, Any], external_id: str | None) -> None:
    refused = {problem.field for problem in row.problems}
    if external_id is None and "external_id" not in refused:
        row.refuse("external_id", "REQUIRED", "Required.")
    for group in words.REQUIRED_COLUMNS[1:]:
        field = group[0]
        if values.get(_STORED.get(field, field)) is None and refused.isdisjoint(group):
            row.refuse(field, "REQUIRED", "Required.")


def normalise_row(raw: Mapping[str, Any], *, today: date) -> RowOutcome:
    """The listing a row (keyed by vocabulary.COLUMNS fields) describes, or its problems."""
    row = RowReader(raw)
    external_id = _external_id(row)
    vin = row.text("vin")
    make = _make(row.text("make"))
    price_minor, written_currency = _price(row)
    values: dict[str, Any] = {
        "vin": None if vin is None else normalise_vin(vin),
        "make": make,
        "model": _model(make, row.text("model")),
        "trim": row.text("trim"),
        "year": _integer(row, "year"),
        "first_registration": _date(row, "first_registration"),
        "mileage_km": _mileage(row),
        "fuel": row.choice("fuel", words.FUELS),
        "transmission": row.choice("transmission", words.TRANSMISSIONS),
        "body_type": row.choice("body_type", words.BODY_TYPES),
        "colour": _colour(row.text("colour")),
        "power_kw": _power(row),
        "co2_g_km": row.measure("co2_g_km", _GRAMS_PER_KM, "g/km"),
        "location_country": normalise_country(row.text("location_country") or "") or None,
        "location_city": row.text("location_city"),
        "price_minor": price_minor,
        "currency": _currency(row, written_currency),
    }
    dealer = _integer(row, "dealer_id")
    if dealer is not None and not 0 < dealer < 2**63:
        row.refuse("dealer_id", "DEALER_NOT_FOUND", "No such dealer.")
    values["dealer_id"] = dealer
    _require(row, values, external_id)
    present = {key: value for key, value in values.items() if value is not None}
    for problem in listing_problems(present, today=today):
        row.problems.append(
            FieldProblem(_FEED_FIELD.get(problem.field, problem.field), problem.code,
                         problem.message)
        )  # fmt: skip
    if row.problems or external_id is None:
        return RowOutcome(external_id, None, tuple(row.problems))
    return RowOutcome(external_id, Listing(external_id, values), ())
