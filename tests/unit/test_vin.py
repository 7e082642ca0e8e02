"""VINs: the format rule, normalisation, the ISO 3779 check digit and synthetic VINs."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.vehicles.vin import (
    SERIAL_CAPACITY,
    VIN_ALPHABET,
    is_valid_vin,
    make_vin,
    model_year_code,
    normalise_vin,
    serial_section,
    vary_vds,
    vin_check_digit,
)

# Real VINs whose position 9 is a North-American check digit.
KNOWN_VINS = [
    "1M8GDM9AXKP042788",  # the Wikipedia example: check digit X
    "1HGCM82633A004352",
    "JH4KA7561PC008269",
    "5GZCZ43D13S812715",
    "1G1JC5444R7252367",
    "WBA3A5G59DNP26082",
    "11111111111111111",
]


def test_alphabet_is_the_33_characters_without_i_o_q() -> None:
    assert len(VIN_ALPHABET) == len(set(VIN_ALPHABET)) == 33
    assert not set("IOQ") & set(VIN_ALPHABET)


@pytest.mark.parametrize("vin", [*KNOWN_VINS, "WVWZZZ1KZ9W386752", "VF1RFB00X61234567"])
def test_well_formed_vins_are_valid(vin: str) -> None:
    assert is_valid_vin(vin)


def test_european_filler_at_position_9_is_not_rejected() -> None:
    # VW writes Z where a North-American VIN has its check digit.
    vin = "WVWZZZ1KZ9W386752"
    assert vin_check_digit(vin) != vin[8]
    assert is_valid_vin(vin)


@pytest.mark.parametrize(
    "vin",
    [
        "",
        "1M8GDM9AXKP04278",  # 16 characters
        "1M8GDM9AXKP0427888",  # 18 characters
        "1M8GDM9AXKP04278I",
        "1M8GDM9AXKP04278O",
        "1M8GDM9AXKP04278Q",
        "1m8gdm9axkp042788",  # lowercase: normalise first
        "1M8GDM9AXKP 42788",
        "1M8GDM9AXKP-42788",
        "1M8GDM9AXKP04278Ä",
    ],
)
def test_malformed_vins_are_invalid(vin: str) -> None:
    assert not is_valid_vin(vin)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (" wvwzzz1kz9w386752 ", "WVWZZZ1KZ9W386752"),
        ("WVW-ZZZ-1KZ-9W-386752", "WVWZZZ1KZ9W386752"),
        ("1m8 gdm9a xkp 042788\n", "1M8GDM9AXKP042788"),
    ],
)
def test_normalise_vin(raw: str, expected: str) -> None:
    assert normalise_vin(raw) == expected
    assert is_valid_vin(normalise_vin(raw))


@pytest.mark.parametrize("vin", KNOWN_VINS)
def test_check_digit_of_real_vins(vin: str) -> None:
    assert vin_check_digit(vin) == vin[8]


def test_check_digit_ten_is_written_x() -> None:
    assert vin_check_digit("1M8GDM9AXKP042788") == "X"


@pytest.mark.parametrize("vin", ["1M8GDM9AXKP04278", "1M8GDM9AXKP04278O"])
def test_check_digit_refuses_what_is_not_a_vin(vin: str) -> None:
    with pytest.raises(ValueError, match="VIN"):
        vin_check_digit(vin)


@pytest.mark.parametrize(
    ("year", "code"),
    [(1980, "A"), (2000, "Y"), (2001, "1"), (2009, "9"), (2010, "A"), (2012, "C"), (2026, "T")],
)
def test_model_year_codes(year: int, code: str) -> None:
    assert model_year_code(year) == code


@pytest.mark.parametrize(("wmi", "year"), [("WVW", 2012), ("5YJ", 2021), ("VF1", 2026)])
def test_made_vin_is_valid_with_check_digit_and_year(wmi: str, year: int) -> None:
    vin = make_vin(random.Random(1), wmi, year)
    assert is_valid_vin(vin)
    assert vin.startswith(wmi)
    assert vin[8] == vin_check_digit(vin)
    assert vin[9] == model_year_code(year)


def test_made_vins_are_reproducible_from_the_seed() -> None:
    first = [make_vin(random.Random(42), "WBA", 2019) for _ in range(3)]
    assert len(set(first)) == 1


def test_random_vins_are_unique() -> None:
    rng = random.Random(7)
    vins = [make_vin(rng, "TMB", 2020) for _ in range(20_000)]
    assert len(set(vins)) == len(vins)
    assert all(is_valid_vin(vin) and vin[8] == vin_check_digit(vin) for vin in vins)


def test_distinct_serials_never_collide_whatever_the_descriptor() -> None:
    rng = random.Random(3)
    vins = {make_vin(rng, "VF3", 2018, serial=serial) for serial in range(100_000)}
    assert len(vins) == 100_000
    assert len({vin[10:] for vin in vins}) == 100_000


def test_serial_section_is_a_bijection_at_the_edges() -> None:
    sections = [serial_section(serial) for serial in (0, 1, SERIAL_CAPACITY - 1)]
    assert len(set(sections)) == 3
    with pytest.raises(ValueError, match="serial"):
        serial_section(SERIAL_CAPACITY)


def test_made_vin_refuses_a_bad_wmi() -> None:
    with pytest.raises(ValueError, match="WMI"):
        make_vin(random.Random(1), "WQW", 2020)


def test_vary_vds_keeps_wmi_year_and_serial() -> None:
    vin = make_vin(random.Random(5), "ZFA", 2016, serial=123)
    varied = vary_vds(random.Random(6), vin)
    assert varied != vin
    assert varied[:3] == vin[:3]
    assert varied[9:] == vin[9:]
    assert varied[8] == vin_check_digit(varied)


@given(
    wmi=st.text(VIN_ALPHABET, min_size=3, max_size=3),
    year=st.integers(1980, 2100),
    serial=st.integers(0, SERIAL_CAPACITY - 1),
    seed=st.integers(0, 2**32),
)
def test_every_made_vin_is_valid(wmi: str, year: int, serial: int, seed: int) -> None:
    vin = make_vin(random.Random(seed), wmi, year, serial=serial)
    assert is_valid_vin(vin)
    assert vin[8] == vin_check_digit(vin)
    assert vin[10:] == serial_section(serial)
