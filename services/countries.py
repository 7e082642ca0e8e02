"""Countries: ISO 3166-1 alpha-2 codes, as the product writes and checks them.

One place for what a country code is (two ASCII letters, stored upper-case, as the
database's CHECK constraints want them) and which are the EU member states: the
destinations the pricing rules deliver to (services/pricing/rules.py keys its VAT table
by these) and where a listed vehicle may stand.
"""

from __future__ import annotations

EU_MEMBER_STATES = frozenset({
    "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE",
    "IT", "LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE",
})  # fmt: skip


def normalise_country(text: str) -> str:
    """The code as stored: trimmed and upper-case (`' fr'` is `'FR'`)."""
    return text.strip().upper()


def is_alpha2(code: str) -> bool:
    """Whether `code` is written as an ISO 3166-1 alpha-2 code: two ASCII letters."""
    return len(code) == 2 and code.isascii() and code.isalpha()


def is_eu_member(code: str) -> bool:
    """Whether `code` (as stored, upper-case) is an EU member state."""
    return code in EU_MEMBER_STATES
