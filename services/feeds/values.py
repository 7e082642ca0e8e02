"""Reading one row's values: text, exact numbers, quantities with units, named choices.

`RowReader` collects every problem of a row (FieldProblem) instead of stopping at the
first, so a rejected row lists all its reasons.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from services.errors import FieldProblem
from services.feeds.vocabulary import fold

_WHITESPACE = re.compile(r"\s+")
_INNER_SPACE = re.compile(r"\s\s|[^\S ]")  # two spaces, or a tab, newline…
_MEASURE = re.compile(r"(?P<number>-?[\d.,' _\u00a0\u202f]*\d)\s*(?P<unit>[^\d\s].*)?")
_GROUPING_SPACES = re.compile(r"[' _\u00a0\u202f]")
_PLAIN = re.compile(r"-?\d+(?:\.\d+)?")
_GROUPS = re.compile(r"-?(?:[1-9]\d{0,2})(?:,\d{3})+")


def decimal_from_text(text: str) -> Decimal | None:
    """An exact decimal from "18 990,50", "18.990", "1,234.5"; None if it is not one."""
    if text.isascii() and text.isdigit():
        return Decimal(text)
    digits = _GROUPING_SPACES.sub("", text)
    comma, dot = digits.rfind(","), digits.rfind(".")
    if comma >= 0 and dot >= 0:
        decimal_mark = "," if comma > dot else "."
        grouping = "." if decimal_mark == "," else ","
        digits = digits.replace(grouping, "").replace(decimal_mark, ".")
    elif comma >= 0 or dot >= 0:
        mark = "," if comma >= 0 else "."
        if _GROUPS.fullmatch(digits.replace(mark, ",")):
            digits = digits.replace(mark, "")
        elif digits.count(mark) == 1:
            digits = digits.replace(mark, ".")
        else:
            return None
    if not _PLAIN.fullmatch(digits):
        return None
    return Decimal(digits)


def _whole(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), ROUND_HALF_UP))


class RowReader:
    """Reads one row's fields, collecting every problem instead of stopping at the first."""

    def __init__(self, raw: Mapping[str, Any]) -> None:
        self.raw = raw
        self.problems: list[FieldProblem] = []

    def refuse(self, field: str, code: str, message: str) -> None:
        """Record a problem of `field`."""
        self.problems.append(FieldProblem(field, code, message))

    def text(self, field: str) -> str | None:
        """The field as trimmed text with single spaces; None when blank."""
        value = self.raw.get(field)
        if value is None:
            return None
        if type(value) is not str:
            if isinstance(value, bool | dict | list):
                self.refuse(field, "NOT_TEXT", "Expected text or a number.")
                return None
            value = str(value)
        text = value.strip()
        if _INNER_SPACE.search(text):
            text = _WHITESPACE.sub(" ", text)
        return text or None

    def number(self, field: str, text: str | None = None) -> Decimal | None:
        """The field (or `text` read from it) as an exact decimal."""
        value = self.raw.get(field)
        if text is None and isinstance(value, int | Decimal) and not isinstance(value, bool):
            return Decimal(value)
        text = text if text is not None else self.text(field)
        if text is None:
            return None
        number = decimal_from_text(text)
        if number is None:
            self.refuse(field, "NOT_A_NUMBER", f"{text!r} is not a number.")
        return number

    def measure(self, field: str, factors: Mapping[str, Decimal], default: str) -> int | None:
        """An integer quantity in the unit of factor 1, from a value with an optional unit."""
        text = self.text(field)
        if text is None:
            return None
        match = _MEASURE.fullmatch(text)
        if match is None:
            self.refuse(field, "NOT_A_NUMBER", f"{text!r} is not a number.")
            return None
        unit = fold(match["unit"] or default).rstrip(".")
        if unit not in factors:
            self.refuse(field, "UNIT_UNKNOWN", f"Unknown unit {match['unit']!r}.")
            return None
        number = self.number(field, match["number"])
        return None if number is None else _whole(number * factors[unit])

    def choice(self, field: str, names: Mapping[str, Any]) -> Any:
        """What `names` calls the field's folded text; a problem if it names nothing."""
        text = self.text(field)
        if text is None:
            return None
        found = names.get(fold(text))
        if found is None:
            self.refuse(
                field, "VALUE_UNKNOWN", f"{text!r} is not a known {field.replace('_', ' ')}."
            )
        return found


def given(row: RowReader, field: str) -> bool:
    """Whether the row has a non-blank value for `field`."""
    value = row.raw.get(field)
    return value is not None and not (isinstance(value, str) and not value.strip())
