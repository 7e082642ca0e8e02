"""Feed bytes to rows: CSV (with a header) or JSON lines, streamed in batches.

Format: declared, else by the name's extension or the Content-Type, else by the first
byte that is not blank (`{`: JSON lines; anything else: CSV). CSV: UTF-8 (a BOM is
skipped), the delimiter that the header uses most among `,` `;` tab `|`, RFC 4180
quoting (a quoted field may span lines; a row is numbered by its first line). JSON
lines: one object per line, numbers read as exact decimals (never floats).

A malformed row (wrong number of fields, broken JSON, not UTF-8) comes out as a row
with a problem; the run rejects it and goes on. Truncation is decided at the end of
the stream, and fails the run (`FeedTruncatedError`): the feed ends inside a quoted
CSV field, or its last line has no line break and is incomplete (a CSV row with fewer
fields than the header, a JSON line that does not parse). A last line without a line
break that is complete is accepted: both RFC 4180 and JSON lines allow it.
"""

from __future__ import annotations

import csv
import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from models.feed import FeedFormat
from services.errors import FieldProblem
from services.feeds.errors import FeedTruncatedError, FeedUnreadableError
from services.feeds.vocabulary import COLUMNS, REQUIRED_COLUMNS, column_key

_DELIMITERS = (",", ";", "\t", "|")


@dataclass(frozen=True, slots=True)
class RawRow:
    """One row as read: its fields by feed field name, or why it could not be read."""

    line: int
    fields: dict[str, Any] | None
    problem: FieldProblem | None = None


@dataclass(slots=True)
class _Lines:
    """Complete lines of a chunk batch, and whether the stream ended without a line break."""

    lines: list[tuple[int, bytes]]
    unterminated_last: bool = False


async def _lines(chunks: AsyncIterator[bytes]) -> AsyncIterator[_Lines]:
    number = 0
    rest = b""
    async for chunk in chunks:
        pieces = (rest + chunk).split(b"\n")
        rest = pieces.pop()
        batch = []
        for piece in pieces:
            number += 1
            batch.append((number, piece))
        yield _Lines(batch)
    if rest:
        yield _Lines([(number + 1, rest)], unterminated_last=True)


def _decode(line: bytes, number: int) -> str | None:
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if number == 1:
        text = text.removeprefix("\ufeff")
    return text.removesuffix("\r")


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number")


def _json_row(number: int, text: str) -> RawRow:
    try:
        value = json.loads(text, parse_float=Decimal, parse_constant=_reject_constant)
    except ValueError as error:
        message = f"Not valid JSON: {error}."
        return RawRow(number, None, FieldProblem("line", "MALFORMED_JSON", message))
    if not isinstance(value, dict):
        return RawRow(number, None, FieldProblem("line", "NOT_AN_OBJECT", "Not a JSON object."))
    fields: dict[str, Any] = {}
    for key, field_value in value.items():
        field = COLUMNS.get(column_key(key))
        if field is not None and fields.get(field) is None:
            fields[field] = field_value
    return RawRow(number, fields)


_NOT_UTF8 = "NOT_UTF8", "The line is not UTF-8 text."


async def _jsonl_rows(lines: AsyncIterator[_Lines]) -> AsyncIterator[list[RawRow]]:
    async for batch in lines:
        rows = []
        for number, line in batch.lines:
            text = _decode(line, number)
            if text is None:
                rows.append(RawRow(number, None, FieldProblem("line", *_NOT_UTF8)))
            elif text.strip():
                rows.append(_json_row(number, text))
        if batch.unterminated_last and rows and rows[-1].fields is None:
            raise FeedTruncatedError(
                f"the feed was cut short: its last line ({rows[-1].line}) has no line break "
                "and is not a complete JSON object"
            )
        yield rows


@dataclass(slots=True)
class _CsvLayout:
    delimiter: str
    fields: list[str | None]  # per column: the feed field it fills, None when ignored


def _layout(header: str) -> _CsvLayout:
    delimiter = max(_DELIMITERS, key=header.count)
    names = next(csv.reader([header], delimiter=delimiter))
    fields: list[str | None] = []
    for name in names:
        field = COLUMNS.get(column_key(name))
        if field is not None and field in fields:
            raise FeedUnreadableError(f"the header has two columns for {field}")
        fields.append(field)
    missing = [group[0] for group in REQUIRED_COLUMNS if not set(group) & set(fields)]
    if missing:
        # The feed's own text never goes into the reason (it is shown to staff and logged):
        # only our names for the columns that were recognised.
        known = ", ".join(field for field in fields if field is not None) or "none"
        raise FeedUnreadableError(
            f"the header lacks required columns: {', '.join(missing)} "
            f"({len(fields)} columns; recognised: {known})"
        )
    return _CsvLayout(delimiter, fields)


def _csv_row(layout: _CsvLayout, number: int, values: list[str]) -> RawRow:
    if len(values) != len(layout.fields):
        message = f"{len(values)} fields where the header has {len(layout.fields)}."
        return RawRow(number, None, FieldProblem("line", "FIELD_COUNT", message))
    fields = {
        field: value for field, value in zip(layout.fields, values, strict=True) if field and value
    }
    return RawRow(number, fields)


def _parse_records(layout: _CsvLayout, records: list[tuple[int, str]]) -> Iterator[RawRow]:
    texts = [text for _, text in records]
    try:
        parsed = list(csv.reader(texts, delimiter=layout.delimiter, strict=True))
    except csv.Error:
        parsed = []  # one record is broken: parse them one by one to find it
    if len(parsed) == len(records):
        for (number, _), values in zip(records, parsed, strict=True):
            yield _csv_row(layout, number, values)
        return
    for number, text in records:
        try:
            values = next(csv.reader([text], delimiter=layout.delimiter, strict=True))
        except csv.Error as error:
            yield RawRow(number, None, FieldProblem("line", "MALFORMED_CSV", f"{error}."))
            continue
        yield _csv_row(layout, number, values)


async def _csv_rows(lines: AsyncIterator[_Lines]) -> AsyncIterator[list[RawRow]]:
    layout: _CsvLayout | None = None
    pending: list[str] = []
    pending_from = 0
    open_quote = False
    async for batch in lines:
        records: list[tuple[int, str]] = []
        for number, line in batch.lines:
            text = _decode(line, number)
            if text is None:
                if layout is None:
                    raise FeedUnreadableError("the header is not UTF-8 text")
                records.append((number, ""))  # reported below, in line order
                continue
            if not pending:
                if not text.strip():
                    continue
                pending_from = number
            pending.append(text)
            open_quote ^= text.count('"') % 2 == 1
            if open_quote:
                continue
            record = "\n".join(pending)
            pending = []
            if layout is None:
                layout = _layout(record)
            else:
                records.append((pending_from, record))
        if layout is None:
            continue
        rows = [
            row if text else RawRow(number, None, FieldProblem("line", *_NOT_UTF8))
            for (number, text), row in zip(records, _parse_records(layout, records), strict=True)
        ]
        if batch.unterminated_last and (open_quote or (rows and rows[-1].fields is None)):
            raise FeedTruncatedError(_csv_cut(pending_from, open_quote))
        yield rows
    if open_quote:
        raise FeedTruncatedError(_csv_cut(pending_from, open_quote))


def _csv_cut(line: int, open_quote: bool) -> str:
    if open_quote:
        return f"the feed was cut short: it ends inside a quoted field opened on line {line}"
    return f"the feed was cut short: its last line ({line}) has no line break and too few fields"


async def read_rows(
    chunks: AsyncIterator[bytes], feed_format: FeedFormat
) -> AsyncIterator[list[RawRow]]:
    """Rows of the feed in batches (one per chunk read), in feed order."""
    rows = _csv_rows if feed_format is FeedFormat.CSV else _jsonl_rows
    async for batch in rows(_lines(chunks)):
        yield batch


async def sniff_format(chunks: AsyncIterator[bytes]) -> tuple[FeedFormat, AsyncIterator[bytes]]:
    """The format the content shows, and the same chunks (none consumed) to read it from."""
    seen: list[bytes] = []
    detected = FeedFormat.CSV
    async for chunk in chunks:
        seen.append(chunk)
        stripped = chunk.lstrip(b"\xef\xbb\xbf \t\r\n")
        if stripped:
            detected = FeedFormat.JSONL if stripped.startswith(b"{") else FeedFormat.CSV
            break

    async def replay() -> AsyncIterator[bytes]:
        """The chunks already read, then the rest."""
        for chunk in seen:
            yield chunk
        async for chunk in chunks:
            yield chunk

    return detected, replay()
