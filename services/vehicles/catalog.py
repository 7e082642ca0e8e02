"""Catalog search: filters, sorts and keyset pagination over vehicles.

Pagination is keyset (seek) pagination on (sort key, id): every page is an index range
scan, however deep, and a cursor stays valid while rows are inserted before it.
"""

from __future__ import annotations

import enum
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from models.dealer import Dealer
from models.vehicle import Vehicle
from services import pagination
from services.countries import is_alpha2, normalise_country
from services.errors import InvalidArgumentError

vehicle_table: sa.Table = Vehicle.__table__  # type: ignore[attr-defined]
dealer_table: sa.Table = Dealer.__table__  # type: ignore[attr-defined]
DEALER_LABEL = "dealer__"  # prefix of the dealer's columns joined into a page
SEARCH_QUERY_MAX_LENGTH = 200


class VehicleSort(enum.StrEnum):
    PRICE = "PRICE"
    YEAR = "YEAR"
    MILEAGE = "MILEAGE"
    NEWEST = "NEWEST"


class SortDirection(enum.StrEnum):
    ASC = "ASC"
    DESC = "DESC"


_SORT_COLUMNS: dict[VehicleSort, str] = {
    VehicleSort.PRICE: "price_minor",
    VehicleSort.YEAR: "year",
    VehicleSort.MILEAGE: "mileage_km",
    VehicleSort.NEWEST: "created_at",
}


@dataclass(frozen=True, slots=True)
class VehicleFilter:
    """Catalog filters; every one is optional and they combine with AND."""

    make: str | None = None
    model: str | None = None
    year_min: int | None = None
    year_max: int | None = None
    price_min_minor: int | None = None
    price_max_minor: int | None = None
    mileage_max: int | None = None
    fuels: tuple[str, ...] = ()
    transmissions: tuple[str, ...] = ()
    body_types: tuple[str, ...] = ()
    countries: tuple[str, ...] = ()
    dealer_ids: tuple[int, ...] = ()
    statuses: tuple[str, ...] = ()
    search: str | None = None

    def validate(self) -> None:
        """Refuse contradictory or out-of-range filters, naming the argument."""
        _check_range("yearMin", self.year_min, "yearMax", self.year_max)
        _check_range("priceMin", self.price_min_minor, "priceMax", self.price_max_minor)
        for name, value in (
            ("priceMin", self.price_min_minor),
            ("priceMax", self.price_max_minor),
            ("mileageMax", self.mileage_max),
        ):
            if value is not None and value < 0:
                raise InvalidArgumentError(name, "must not be negative")
        if self.search is not None and len(self.search) > SEARCH_QUERY_MAX_LENGTH:
            raise InvalidArgumentError("search", f"at most {SEARCH_QUERY_MAX_LENGTH} characters")
        for code in self.countries:
            if not is_alpha2(code) or code != normalise_country(code):
                raise InvalidArgumentError("country", f"{code!r} is not an ISO 3166-1 alpha-2 code")


def _check_range(low_name: str, low: int | None, high_name: str, high: int | None) -> None:
    if low is not None and high is not None and low > high:
        raise InvalidArgumentError(low_name, f"{low_name} is above {high_name}")


@dataclass(frozen=True, slots=True)
class Ordering:
    sort: VehicleSort = VehicleSort.NEWEST
    direction: SortDirection = SortDirection.DESC


@dataclass(frozen=True, slots=True)
class Cursor:
    sort: VehicleSort
    value: Any
    id: int


def encode_cursor(ordering: Ordering, row: Any) -> str:
    """An opaque cursor for `row` under `ordering`."""
    value = row[_SORT_COLUMNS[ordering.sort]]
    if isinstance(value, datetime):
        value = value.isoformat()
    return pagination.encode_cursor(ordering.sort.value, value, row["id"])


def decode_cursor(cursor: str, ordering: Ordering, *, argument: str) -> Cursor:
    """Parse a cursor made by `encode_cursor`, refusing one from another ordering."""
    sort_name, value, row_id = pagination.decode_cursor(cursor, argument=argument, length=3)
    try:
        sort = VehicleSort(sort_name)
        if not isinstance(row_id, int) or isinstance(row_id, bool):
            raise ValueError
        if sort is VehicleSort.NEWEST:
            value = datetime.fromisoformat(value)
        elif not isinstance(value, int) or isinstance(value, bool):
            raise ValueError
    except (ValueError, TypeError):
        raise InvalidArgumentError(argument, pagination.INVALID_CURSOR) from None
    if sort is not ordering.sort:
        raise InvalidArgumentError(argument, "the cursor belongs to another orderBy")
    return Cursor(sort=sort, value=value, id=row_id)


@dataclass(frozen=True, slots=True)
class PageRequest:
    """A validated slice: `limit` rows after/before a cursor, forwards or backwards."""

    limit: int
    backwards: bool = False
    after: Cursor | None = None
    before: Cursor | None = None


def _conditions(flt: VehicleFilter) -> list[sa.ColumnElement[bool]]:
    c = vehicle_table.c
    where: list[sa.ColumnElement[bool]] = []
    if flt.make is not None:
        where.append(sa.func.lower(c.make) == flt.make.lower())
    if flt.model is not None:
        where.append(sa.func.lower(c.model) == flt.model.lower())
    if flt.year_min is not None:
        where.append(c.year >= flt.year_min)
    if flt.year_max is not None:
        where.append(c.year <= flt.year_max)
    if flt.price_min_minor is not None:
        where.append(c.price_minor >= flt.price_min_minor)
    if flt.price_max_minor is not None:
        where.append(c.price_minor <= flt.price_max_minor)
    if flt.mileage_max is not None:
        where.append(c.mileage_km <= flt.mileage_max)
    for column, values in (
        (c.fuel, flt.fuels),
        (c.transmission, flt.transmissions),
        (c.body_type, flt.body_types),
        (c.location_country, flt.countries),
        (c.dealer_id, flt.dealer_ids),
        (c.status, flt.statuses),
    ):
        if values:
            where.append(column.in_(values) if len(values) > 1 else column == values[0])
    if flt.search:
        where.append(c.search.op("@@")(sa.func.websearch_to_tsquery("simple", flt.search)))
    return where


def _seek(ordering: Ordering, cursor: Cursor, *, forwards: bool) -> sa.ColumnElement[bool]:
    key = vehicle_table.c[_SORT_COLUMNS[ordering.sort]]
    row = sa.tuple_(key, vehicle_table.c.id)
    bound = sa.tuple_(sa.literal(cursor.value, key.type), sa.literal(cursor.id, sa.BigInteger))
    ascending = ordering.direction is SortDirection.ASC
    return row > bound if ascending == forwards else row < bound


def _order_by(ordering: Ordering, *, backwards: bool) -> list[sa.ColumnElement[Any]]:
    key = vehicle_table.c[_SORT_COLUMNS[ordering.sort]]
    descending = (ordering.direction is SortDirection.DESC) != backwards
    if descending:
        return [key.desc(), vehicle_table.c.id.desc()]
    return [key.asc(), vehicle_table.c.id.asc()]


def _columns(names: Collection[str]) -> list[sa.ColumnElement[Any]]:
    """These vehicle columns and the id, in table order."""
    wanted = {"id", *names}
    return [column for column in vehicle_table.c if column.key in wanted]


def select_columns(columns: Collection[str], ordering: Ordering) -> list[sa.ColumnElement[Any]]:
    """The requested columns plus what the cursor needs."""
    return _columns({_SORT_COLUMNS[ordering.sort], *columns})


def page_statement(
    flt: VehicleFilter, ordering: Ordering, page: PageRequest, columns: Collection[str]
) -> sa.Select[Any]:
    """The SELECT for one page, fetching one row more than asked to learn if more exist."""
    where = _conditions(flt)
    if page.after is not None:
        where.append(_seek(ordering, page.after, forwards=True))
    if page.before is not None:
        where.append(_seek(ordering, page.before, forwards=False))
    return (
        sa.select(*select_columns(columns, ordering))
        .where(*where)
        .order_by(*_order_by(ordering, backwards=page.backwards))
        .limit(page.limit + 1)
    )


@dataclass(frozen=True, slots=True)
class Page:
    rows: Sequence[Any]
    has_next_page: bool
    has_previous_page: bool
    dealers: dict[int, Any] | None = None  # the page's dealers by id, when joined


async def fetch_page(
    conn: AsyncConnection,
    flt: VehicleFilter,
    ordering: Ordering,
    page: PageRequest,
    columns: Collection[str],
    *,
    with_dealers: bool = False,
) -> Page:
    """One page of vehicles, in the requested order, with what lies beyond it.

    `with_dealers`: the vehicles' dealers come in the same statement (a join on the
    dealer's primary key), so a page showing them costs no statement more.
    """
    statement = page_statement(
        flt, ordering, page, {*columns, "dealer_id"} if with_dealers else columns
    )
    if not with_dealers:
        return _to_page(list((await conn.execute(statement)).mappings()), page)
    statement = statement.join(
        dealer_table, dealer_table.c.id == vehicle_table.c.dealer_id
    ).add_columns(*(column.label(DEALER_LABEL + column.name) for column in dealer_table.c))
    rows, dealers = [], {}
    cut = len(DEALER_LABEL)
    for joined in (await conn.execute(statement)).mappings():
        row, dealer = {}, {}
        for name, value in joined.items():
            if name.startswith(DEALER_LABEL):
                dealer[name[cut:]] = value
            else:
                row[name] = value
        rows.append(row)
        dealers[dealer["id"]] = dealer
    return _to_page(rows, page, dealers)


def _to_page(rows: list[Any], page: PageRequest, dealers: dict[int, Any] | None = None) -> Page:
    """Trim the look-ahead row and put a backwards page back in display order."""
    kept = pagination.page_of(
        rows, page.limit, backwards=page.backwards, after=page.after, before=page.before
    )
    return Page(kept.rows, kept.has_next_page, kept.has_previous_page, dealers)


async def count_vehicles(conn: AsyncConnection, flt: VehicleFilter) -> int:
    """How many vehicles match the filter, whatever the page."""
    statement = sa.select(sa.func.count()).select_from(vehicle_table).where(*_conditions(flt))
    return int((await conn.execute(statement)).scalar_one())


async def fetch_by_ids(
    conn: AsyncConnection, ids: Collection[int], columns: Collection[str]
) -> dict[int, Any]:
    """Vehicles by primary key, as a map from id to row."""
    statement = sa.select(*_columns(columns)).where(vehicle_table.c.id.in_(list(ids)))
    result = await conn.execute(statement)
    return {row["id"]: row for row in result.mappings()}


async def fetch_by_vins(
    conn: AsyncConnection, vins: Collection[str], columns: Collection[str]
) -> dict[str, Any]:
    """Vehicles by VIN (normalised), as a map from VIN to row: one statement."""
    statement = sa.select(*_columns({"vin", *columns})).where(vehicle_table.c.vin.in_(list(vins)))
    return {row["vin"]: row for row in (await conn.execute(statement)).mappings()}


async def fetch_pages_by_dealer(
    conn: AsyncConnection,
    dealer_ids: Collection[int],
    flt: VehicleFilter,
    ordering: Ordering,
    page: PageRequest,
    columns: Collection[str],
) -> dict[int, Page]:
    """One page of vehicles for each dealer, in a single LATERAL query."""
    keys = (
        sa.func.unnest(sa.literal(list(dealer_ids), sa.ARRAY(sa.BigInteger)))
        .table_valued("dealer_key")
        .render_derived(name="dealer_keys")
    )
    per_dealer = (
        page_statement(flt, ordering, page, {*columns, "dealer_id"})
        .where(vehicle_table.c.dealer_id == keys.c.dealer_key)
        .lateral("per_dealer")
    )
    statement = sa.select(per_dealer).select_from(keys).join(per_dealer, sa.true())
    grouped: dict[int, list[Any]] = {dealer_id: [] for dealer_id in dealer_ids}
    for row in (await conn.execute(statement)).mappings():
        grouped[row["dealer_id"]].append(row)
    return {dealer_id: _to_page(rows, page) for dealer_id, rows in grouped.items()}


async def count_by_dealer(
    conn: AsyncConnection, dealer_ids: Collection[int], flt: VehicleFilter
) -> dict[int, int]:
    """How many matching vehicles each dealer has."""
    c = vehicle_table.c
    statement = (
        sa.select(c.dealer_id, sa.func.count())
        .where(c.dealer_id.in_(list(dealer_ids)), *_conditions(flt))
        .group_by(c.dealer_id)
    )
    counts = dict.fromkeys(dealer_ids, 0)
    for dealer_id, count in (await conn.execute(statement)).all():
        counts[dealer_id] = int(count)
    return counts
