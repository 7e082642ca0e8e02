"""Vehicle identification numbers (ISO 3779): validation, normalisation and synthesis."""

from __future__ import annotations

import operator
import random
import re

# ISO 3779 excludes I, O and Q so that they cannot be misread as 1 and 0.
VIN_ALPHABET = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"
VIN_LENGTH = 17
_VIN_CHARACTERS = frozenset(VIN_ALPHABET)

_VIN_PATTERN = re.compile(r"[A-HJ-NPR-Z0-9]{17}")
_SEPARATORS = re.compile(r"[\s\-]+")

# North-American (49 CFR 565) check digit: letters transliterate to digits, position 9
# (weight 0) holds the result.
_TRANSLITERATION: dict[str, int] = {
    **{str(digit): digit for digit in range(10)},
    **dict(zip("ABCDEFGH", range(1, 9), strict=True)),
    **dict(zip("JKLMN", range(1, 6), strict=True)),
    "P": 7,
    "R": 9,
    **dict(zip("STUVWXYZ", range(2, 10), strict=True)),
}
_WEIGHTS = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)

# Position 10 cycles through these 30 codes, starting with A for 1980 (and 2010).
_MODEL_YEAR_CODES = "ABCDEFGHJKLMNPRSTVWXY123456789"
_MODEL_YEAR_EPOCH = 1980

# A serial index is spread over the plant code (position 11) and a six-digit serial
# (positions 12-17) through a fixed bijection, so distinct indexes give distinct VINs
# that still look like real production numbers rather than a counter.
SERIAL_CAPACITY = len(VIN_ALPHABET) * 1_000_000
_SERIAL_MULTIPLIER = 7_368_787  # coprime with SERIAL_CAPACITY, hence a permutation
_SERIAL_OFFSET = 4_711_033


def is_valid_vin(vin: str) -> bool:
    """Whether `vin` is 17 uppercase characters of the VIN alphabet (no I, O or Q).

    The position-9 check digit is not enforced: it is mandatory in North America only,
    and many European manufacturers put a filler such as Z there.
    """
    return _VIN_PATTERN.fullmatch(vin) is not None


def normalise_vin(raw: str) -> str:
    """Canonical form of a typed or scanned VIN: uppercase, no spaces or dashes."""
    return _SEPARATORS.sub("", raw.strip()).upper()


def vin_check_digit(vin: str) -> str:
    """The ISO 3779 / North-American check digit of a 17-character VIN: 0-9 or X."""
    if len(vin) != VIN_LENGTH:
        raise ValueError(f"a VIN has {VIN_LENGTH} characters, got {len(vin)}")
    try:
        # map() keeps the loop in C: the seeder computes a million of these.
        total = sum(map(operator.mul, map(_TRANSLITERATION.__getitem__, vin), _WEIGHTS))
    except KeyError as error:
        raise ValueError(f"{error.args[0]!r} is not a VIN character") from None
    remainder = total % 11
    return "X" if remainder == 10 else str(remainder)


def model_year_code(model_year: int) -> str:
    """The position-10 code of a model year (the 30-year cycle starting at 1980)."""
    if model_year < _MODEL_YEAR_EPOCH:
        raise ValueError(f"model years before {_MODEL_YEAR_EPOCH} have no VIN code")
    return _MODEL_YEAR_CODES[(model_year - _MODEL_YEAR_EPOCH) % len(_MODEL_YEAR_CODES)]


def serial_section(serial: int) -> str:
    """Positions 11-17 (plant and serial number) for a serial index; distinct per index."""
    if not 0 <= serial < SERIAL_CAPACITY:
        raise ValueError(f"serial index must be in [0, {SERIAL_CAPACITY})")
    scrambled = (serial * _SERIAL_MULTIPLIER + _SERIAL_OFFSET) % SERIAL_CAPACITY
    plant, number = divmod(scrambled, 1_000_000)
    return f"{VIN_ALPHABET[plant]}{number:06d}"


def make_vin(
    rng: random.Random,
    wmi: str,
    model_year: int,
    *,
    vds: str | None = None,
    serial: int | None = None,
) -> str:
    """A valid VIN with a correct check digit and the model-year code at position 10.

    `vds` (positions 4-8) and `serial` (an index mapped onto positions 11-17) default to
    random values from `rng`; VINs made with distinct serial indexes never collide.
    """
    if len(wmi) != 3 or not _VIN_CHARACTERS.issuperset(wmi):
        raise ValueError(f"a WMI is 3 VIN characters, got {wmi!r}")
    if vds is None:
        vds = "".join(rng.choices(VIN_ALPHABET, k=5))
    elif len(vds) != 5 or not _VIN_CHARACTERS.issuperset(vds):
        raise ValueError(f"a VDS is 5 VIN characters, got {vds!r}")
    if serial is None:
        serial = rng.randrange(SERIAL_CAPACITY)
    # "0" is a placeholder: position 9 has weight 0, so it does not affect the sum.
    draft = f"{wmi}{vds}0{model_year_code(model_year)}{serial_section(serial)}"
    return f"{draft[:8]}{vin_check_digit(draft)}{draft[9:]}"


def vary_vds(rng: random.Random, vin: str) -> str:
    """`vin` with random descriptor characters (positions 4-8) and its check digit redone."""
    vds = "".join(rng.choices(VIN_ALPHABET, k=5))
    draft = f"{vin[:3]}{vds}0{vin[9:]}"
    return f"{draft[:8]}{vin_check_digit(draft)}{draft[9:]}"
