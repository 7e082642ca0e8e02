"""The pagination kit: one cursor codec and one page for every list. Clients hold
cursors, so each list's cursor bytes are pinned here as they have always been made."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from schema.errors import BadUserInputError
from schema.feeds import decode_line_cursor, line_cursor
from services import dealers, pagination
from services.errors import InvalidArgumentError
from services.feeds import queries as feed_queries
from services.orders import queries as order_queries
from services.vehicles import catalog

AT = datetime(2026, 3, 4, 5, 6, 7, 891011, tzinfo=UTC)


def test_every_lists_cursor_keeps_its_bytes() -> None:
    assert dealers.encode_dealer_cursor({"name": 'Autohaus Müller "Süd"', "id": 12}) == (
        "WyJERUFMRVIiLCJBdXRvaGF1cyBNw7xsbGVyIFwiU8O8ZFwiIiwxMl0"
    )
    assert order_queries.encode_order_cursor({"created_at": AT, "id": 77}) == (
        "WyJPUkRFUiIsIjIwMjYtMDMtMDRUMDU6MDY6MDcuODkxMDExKzAwOjAwIiw3N10"
    )
    assert feed_queries.encode_run_cursor({"created_at": AT, "id": 5}) == (
        "WyIyMDI2LTAzLTA0VDA1OjA2OjA3Ljg5MTAxMSswMDowMCIsNV0="
    )
    assert line_cursor(1234) == "bGluZToxMjM0"
    price = catalog.Ordering(sort=catalog.VehicleSort.PRICE)
    assert catalog.encode_cursor(price, {"price_minor": 1899000, "id": 9}) == (
        "WyJQUklDRSIsMTg5OTAwMCw5XQ"
    )
    newest = catalog.Ordering(sort=catalog.VehicleSort.NEWEST)
    assert catalog.encode_cursor(newest, {"created_at": AT, "id": 9}) == (
        "WyJORVdFU1QiLCIyMDI2LTAzLTA0VDA1OjA2OjA3Ljg5MTAxMSswMDowMCIsOV0"
    )


def test_cursors_decode_back_padded_or_not() -> None:
    cursor = order_queries.encode_order_cursor({"created_at": AT, "id": 77})
    assert order_queries.decode_order_cursor(cursor, argument="after") == (AT, 77)
    assert order_queries.decode_order_cursor(cursor + "=", argument="after") == (AT, 77)
    run = feed_queries.encode_run_cursor({"created_at": AT, "id": 5})
    assert feed_queries.decode_run_cursor(run.rstrip("="), argument="after") == (AT, 5)
    assert dealers.decode_dealer_cursor(
        dealers.encode_dealer_cursor({"name": "Ö", "id": 1}), argument="before"
    ) == ("Ö", 1)
    assert decode_line_cursor(line_cursor(42)) == 42
    assert pagination.decode_cursor(pagination.encode_cursor(1, "a"), argument="after", length=2)


@pytest.mark.parametrize(
    "cursor", ["", "not-a-cursor!", "Ünïcode", "e30", pagination.encode_cursor("ORDER", 1)]
)
def test_a_foreign_cursor_is_refused_naming_the_argument(cursor: str) -> None:
    with pytest.raises(InvalidArgumentError) as refused:
        order_queries.decode_order_cursor(cursor, argument="before")
    assert (refused.value.argument, refused.value.message) == ("before", "not a valid cursor")
    with pytest.raises(InvalidArgumentError, match="not a cursor of this list"):
        feed_queries.decode_run_cursor(cursor, argument="after")
    with pytest.raises(BadUserInputError, match="after: not a cursor of this list"):
        decode_line_cursor(cursor)


def test_a_cursor_of_another_list_is_refused() -> None:
    order = order_queries.encode_order_cursor({"created_at": AT, "id": 77})
    with pytest.raises(InvalidArgumentError):
        dealers.decode_dealer_cursor(order, argument="after")
    price = catalog.Ordering(sort=catalog.VehicleSort.PRICE)
    newest = catalog.encode_cursor(
        catalog.Ordering(sort=catalog.VehicleSort.NEWEST), {"created_at": AT, "id": 9}
    )
    with pytest.raises(InvalidArgumentError, match="another orderBy"):
        catalog.decode_cursor(newest, price, argument="after")


def test_a_page_trims_its_look_ahead_row() -> None:
    forward = pagination.page_of([1, 2, 3], 2, backwards=False, after=None, before=None)
    assert (list(forward.rows), forward.has_next_page, forward.has_previous_page) == (
        [1, 2], True, False
    )  # fmt: skip
    last = pagination.page_of([4, 5], 2, backwards=False, after="c", before=None)
    assert (list(last.rows), last.has_next_page, last.has_previous_page) == ([4, 5], False, True)


def test_a_backwards_page_is_put_back_in_display_order() -> None:
    page = pagination.page_of([9, 8, 7], 2, backwards=True, after=None, before="c")
    assert (list(page.rows), page.has_next_page, page.has_previous_page) == ([8, 9], True, True)
    first = pagination.page_of([2, 1], 5, backwards=True, after=None, before=None)
    assert (list(first.rows), first.has_next_page, first.has_previous_page) == (
        [1, 2], False, False
    )  # fmt: skip
