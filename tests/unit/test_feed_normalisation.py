"""Feed rows normalised: units, casing, names, exact prices, and every problem named."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from models.feed import FeedFormat
from models.vehicle import BodyType, FuelType, Transmission
from services.feeds.errors import FeedTruncatedError, FeedUnreadableError, StartRefusedError
from services.feeds.normalise import normalise_row
from services.feeds.parsing import RawRow, read_rows, sniff_format
from services.feeds.sources import format_of_name, parse_location
from services.feeds.values import decimal_from_text
from services.feeds.vocabulary import column_key

TODAY = date(2026, 6, 1)
GOOD: dict[str, Any] = {
    "external_id": "STK-1", "vin": "wvw zzz1kz-8w000001", "make": "vw", "model": "golf",
    "year": "2019", "mileage_miles": "28,000 mi", "fuel": "Benzin", "transmission": "Automatik",
    "body_type": "Kombi", "colour": "DARK BLUE", "power": "150 PS", "co2_g_km": "120 g/km",
    "location_country": "de", "location_city": "  Bad   Homburg ", "price": "€18.990,50",
    "first_registration": "03/2019",
}  # fmt: skip


def test_a_good_row_is_normalised_to_stored_values() -> None:
    outcome = normalise_row(GOOD, today=TODAY)
    assert outcome.problems == ()
    assert outcome.listing is not None
    assert outcome.listing.values == {
        "vin": "WVWZZZ1KZ8W000001", "make": "Volkswagen", "model": "Golf", "trim": None,
        "year": 2019, "first_registration": date(2019, 3, 1), "mileage_km": 45_062,
        "fuel": FuelType.PETROL, "transmission": Transmission.AUTOMATIC,
        "body_type": BodyType.ESTATE, "colour": "Dark blue", "power_kw": 110, "co2_g_km": 120,
        "location_country": "DE", "location_city": "Bad Homburg", "price_minor": 1_899_050,
        "currency": "EUR", "dealer_id": None,
    }  # fmt: skip


@pytest.mark.parametrize(
    ("word", "fuel"),
    [("Benzin", FuelType.PETROL), ("essence", FuelType.PETROL), ("GASOLINE", FuelType.PETROL),
     ("Gazole", FuelType.DIESEL), ("EV", FuelType.ELECTRIC), ("bev", FuelType.ELECTRIC),
     ("Électrique", FuelType.ELECTRIC), ("PHEV", FuelType.PLUG_IN_HYBRID),
     ("plug-in hybrid", FuelType.PLUG_IN_HYBRID), ("PLUG_IN_HYBRID", FuelType.PLUG_IN_HYBRID),
     ("Hybrid", FuelType.HYBRID), ("Autogas", FuelType.LPG), ("Erdgas", FuelType.CNG)],
)  # fmt: skip
def test_fuel_names_in_many_languages(word: str, fuel: FuelType) -> None:
    listing = normalise_row({**GOOD, "fuel": word}, today=TODAY).listing
    assert listing is not None
    assert listing.values["fuel"] is fuel


@pytest.mark.parametrize(
    ("fields", "km"),
    [({"mileage_km": "45 000"}, 45_000), ({"mileage_km": "45.000 km"}, 45_000),
     ({"mileage_miles": "10000"}, 16_093), ({"mileage": "10,000 miles"}, 16_093),
     ({"mileage": "10000", "mileage_unit": "mi"}, 16_093), ({"mileage": 12_500}, 12_500)],
)  # fmt: skip
def test_mileage_is_kilometres(fields: dict[str, Any], km: int) -> None:
    raw = {k: v for k, v in GOOD.items() if k != "mileage_miles"} | fields
    listing = normalise_row(raw, today=TODAY).listing
    assert listing is not None
    assert listing.values["mileage_km"] == km


@pytest.mark.parametrize(
    ("fields", "kw"),
    [({"power": "110 kW"}, 110), ({"power": "150 hp"}, 112), ({"power_ps": "150"}, 110),
     ({"power_hp": 300}, 224), ({"power_kw": "85"}, 85)],
)  # fmt: skip
def test_power_is_kilowatts(fields: dict[str, Any], kw: int) -> None:
    raw = {k: v for k, v in GOOD.items() if k != "power"} | fields
    listing = normalise_row(raw, today=TODAY).listing
    assert listing is not None
    assert listing.values["power_kw"] == kw


@pytest.mark.parametrize(
    ("text", "amount"),
    [("18990", Decimal("18990")), ("18 990,50", Decimal("18990.50")),
     ("18.990,50", Decimal("18990.50")), ("18,990.50", Decimal("18990.50")),
     ("1.234.567", Decimal("1234567")), ("18990,5", Decimal("18990.5")),
     ("18,990", Decimal("18990")), ("0.500", Decimal("0.500")), ("1,2,3", None), ("abc", None)],
)  # fmt: skip
def test_decimal_text_is_read_exactly(text: str, amount: Decimal | None) -> None:
    assert decimal_from_text(text) == amount


def test_prices_are_minor_units_and_never_rounded() -> None:
    def price(value: Any, **extra: Any) -> tuple[int | None, list[str]]:
        outcome = normalise_row({**GOOD, "price": value, **extra}, today=TODAY)
        minor = None if outcome.listing is None else outcome.listing.values["price_minor"]
        return minor, [p.code for p in outcome.problems]

    assert price(Decimal("25990.5")) == (2_599_050, [])  # a JSON number, read as a Decimal
    assert price("EUR 25990") == (2_599_000, [])
    assert price("25990 PLN") == (2_599_000, [])
    assert price("18990.555") == (None, ["PRICE_PRECISION"])
    assert price("0") == (None, ["OUT_OF_RANGE"])
    assert price("25990 PLN", currency="EUR") == (None, ["CURRENCY_MISMATCH"])
    assert price("25990", currency="USD") == (None, ["CURRENCY_UNSUPPORTED"])


def test_casing_of_makes_models_and_colours() -> None:
    def names(make: str, model: str, colour: str) -> tuple[str, str, str]:
        listing = normalise_row({**GOOD, "make": make, "model": model, "colour": colour},
                                today=TODAY).listing  # fmt: skip
        assert listing is not None
        return listing.values["make"], listing.values["model"], listing.values["colour"]

    assert names("MERCEDES-BENZ", "c-class", "silver") == ("Mercedes-Benz", "C-Class", "Silver")
    assert names("bmw", "3 SERIES", "Midnight Blue") == ("BMW", "3 Series", "Midnight Blue")
    assert names("lancia", "ypsilon", "GRIGIO") == ("Lancia", "Ypsilon", "Grigio")
    assert names("DS", "DS 7", "white") == ("DS", "DS 7", "White")


def test_every_problem_of_a_bad_row_is_named() -> None:
    raw = {"external_id": "X", "vin": "WVWZZZ1KZ8W00000I", "make": "VW", "model": "Golf",
           "year": "1920", "mileage_km": "lots", "fuel": "kerosene", "transmission": "manual",
           "body_type": "hatchback", "colour": "red", "power_kw": "85",
           "location_country": "CH", "location_city": "Basel"}  # fmt: skip
    outcome = normalise_row(raw, today=TODAY)
    assert outcome.listing is None
    assert outcome.external_id == "X"
    assert sorted((p.field, p.code) for p in outcome.problems) == [
        ("fuel", "VALUE_UNKNOWN"), ("location_country", "COUNTRY_UNSUPPORTED"),
        ("mileage_km", "NOT_A_NUMBER"), ("price", "REQUIRED"), ("vin", "VIN_INVALID"),
        ("year", "YEAR_OUT_OF_RANGE"),
    ]  # fmt: skip


def test_column_names_in_any_style() -> None:
    assert [column_key(name) for name in ("externalId", "Mileage (km)", "CO2 (g/km)", "VIN")] == [
        "external_id",
        "mileage_km",
        "co2_g_km",
        "vin",
    ]


def test_locations_and_formats() -> None:
    assert parse_location("https://feeds.example/a.csv").is_http
    assert parse_location("file:///srv/feeds/a.jsonl").path is not None
    with pytest.raises(StartRefusedError) as refused:
        parse_location("ftp://feeds.example/a.csv")
    assert refused.value.problem.code == "URL_SCHEME_UNSUPPORTED"
    assert format_of_name("https://x.example/stock.ndjson?day=1") is FeedFormat.JSONL
    assert format_of_name("/srv/feeds/stock.CSV") is FeedFormat.CSV
    assert format_of_name("/srv/feeds/stock") is None


async def _chunks(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


async def _rows(feed_format: FeedFormat, *parts: bytes) -> list[RawRow]:
    return [row async for batch in read_rows(_chunks(*parts), feed_format) for row in batch]


HEADER = (b"external_id;vin;make;model;year;mileage_km;fuel;transmission;body_type;colour;"
          b"power_kw;location_country;location_city;price\r\n")  # fmt: skip
ROW = b"A1;WVWZZZ1KZ8W000001;VW;Golf;2019;45000;diesel;manual;hatchback;red;85;DE;Berlin;15990"


async def test_csv_rows_across_chunks_with_quoted_newlines_and_semicolons() -> None:
    quoted = (
        b'A2;WVWZZZ1KZ8W000002;VW;"Golf\nVariant";2019;1;diesel;manual;estate;red;85;DE;"Bonn";1'
    )
    rows = await _rows(FeedFormat.CSV, b"\xef\xbb\xbf" + HEADER[:30], HEADER[30:] + ROW[:20],
                       ROW[20:] + b"\r\n\r\n" + quoted + b"\nA3;too;few\n")  # fmt: skip
    assert [(row.line, row.problem and row.problem.code) for row in rows] == [
        (2, None),
        (4, None),
        (6, "FIELD_COUNT"),
    ]
    assert rows[0].fields is not None
    assert rows[0].fields["price"] == "15990"
    assert rows[1].fields is not None
    assert rows[1].fields["model"] == "Golf\nVariant"


async def test_csv_truncation_is_detected_at_the_end_only() -> None:
    assert len(await _rows(FeedFormat.CSV, HEADER, ROW)) == 1  # complete, no final line break
    with pytest.raises(FeedTruncatedError, match="last line \\(2\\)"):
        await _rows(FeedFormat.CSV, HEADER, ROW[:-12])
    with pytest.raises(FeedTruncatedError, match="quoted field opened on line 2"):
        await _rows(FeedFormat.CSV, HEADER, b'A1;"WVW')
    with pytest.raises(FeedUnreadableError, match="lacks required columns: price"):
        await _rows(FeedFormat.CSV, HEADER.replace(b";price", b""), ROW)


async def test_json_lines_read_numbers_exactly_and_detect_truncation() -> None:
    rows = await _rows(FeedFormat.JSONL, b'{"externalId": "J1", "Price": 18990.10}\n',
                       b"not json\n", b"[1]\n", b'{"id": "J2"}')  # fmt: skip
    assert [(row.line, row.problem and row.problem.code) for row in rows] == [
        (1, None),
        (2, "MALFORMED_JSON"),
        (3, "NOT_AN_OBJECT"),
        (4, None),
    ]
    assert rows[0].fields == {"external_id": "J1", "price": Decimal("18990.10")}
    with pytest.raises(FeedTruncatedError, match="last line \\(2\\)"):
        await _rows(FeedFormat.JSONL, b'{"id": "J1"}\n{"id": "J')


async def test_the_format_is_sniffed_without_losing_bytes() -> None:
    detected, chunks = await sniff_format(_chunks(b"", b'\n  {"id": 1}\n'))
    assert detected is FeedFormat.JSONL
    assert b"".join([chunk async for chunk in chunks]) == b'\n  {"id": 1}\n'
