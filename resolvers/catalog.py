"""Catalog root fields: vehicles, vehicle, vehicleByVin, dealers, dealer.vehicles."""

from __future__ import annotations

from functools import partial

from core import response_cache
from loaders import ALL_VEHICLE_COLUMNS
from loaders.vehicle import DealerVehiclesKey
from resolvers.pricing import prefetch_delivered_prices
from schema.catalog import (
    Dealer,
    DealerConnection,
    DealerEdge,
    Vehicle,
    VehicleConnection,
    VehicleFilterInput,
    VehicleOrderBy,
    vehicle_columns,
)
from schema.context import Info
from schema.errors import BadUserInputError, NotFoundError
from schema.ids import decode_int_id
from schema.pagination import PageInfo, decode_or_bad_input, validate_page_args
from schema.selection import selected_at, selected_names
from services import dealers as dealer_service
from services.countries import is_alpha2, normalise_country
from services.errors import InvalidArgumentError
from services.vehicles import catalog
from services.vehicles.vin import is_valid_vin, normalise_vin


def _filter(flt: VehicleFilterInput | None) -> catalog.VehicleFilter:
    domain = flt.to_domain() if flt is not None else catalog.VehicleFilter()
    try:
        domain.validate()
    except InvalidArgumentError as error:
        raise BadUserInputError(error.message, field=error.argument) from None
    return domain


def _ordering(order_by: VehicleOrderBy | None) -> catalog.Ordering:
    if order_by is None:
        return catalog.Ordering()
    return catalog.Ordering(sort=order_by.field, direction=order_by.direction)


def _page(
    info: Info,
    ordering: catalog.Ordering,
    *,
    first: int | None,
    after: str | None,
    last: int | None,
    before: str | None,
) -> catalog.PageRequest:
    limit, backwards = validate_page_args(
        first=first,
        after=after,
        last=last,
        before=before,
        max_page_size=info.context.settings.max_page_size,
    )
    return catalog.PageRequest(
        limit=limit,
        backwards=backwards,
        after=decode_or_bad_input(
            partial(catalog.decode_cursor, ordering=ordering, argument="after"), after
        ),
        before=decode_or_bad_input(
            partial(catalog.decode_cursor, ordering=ordering, argument="before"), before
        ),
    )


async def vehicles(
    info: Info,
    filter: VehicleFilterInput | None,
    order_by: VehicleOrderBy | None,
    *,
    first: int | None,
    after: str | None,
    last: int | None,
    before: str | None,
) -> VehicleConnection:
    """The catalog: filtered, sorted, paginated by cursor."""
    flt = _filter(filter)
    ordering = _ordering(order_by)
    page = _page(info, ordering, first=first, after=after, last=last, before=before)
    selected = selected_at(info.selected_fields, ("edges", "node"))
    names = {field.name for field in selected}
    columns = vehicle_columns(names)
    columns = ALL_VEHICLE_COLUMNS if columns is None else columns
    conn = await info.context.db.get()
    with_dealers = "dealer" in names
    result = await catalog.fetch_page(conn, flt, ordering, page, columns, with_dealers=with_dealers)
    for dealer_id, dealer in (result.dealers or {}).items():
        info.context.loaders.dealer_by_id.prime(dealer_id, dealer)  # for other paths to it

    async def count() -> int:
        return await catalog.count_vehicles(await info.context.db.get(), flt)

    connection = VehicleConnection.build(
        result.rows,
        partial(catalog.encode_cursor, ordering),
        has_next_page=result.has_next_page,
        has_previous_page=result.has_previous_page,
        count=count,
        dealers=result.dealers,
    )
    destinations = {
        field.arguments.get("destinationCountry")
        for field in selected
        if field.name == "deliveredPrice"
    }
    if destinations:
        await prefetch_delivered_prices(
            info, [edge.node for edge in connection.edges], destinations
        )
    return connection


async def dealer_vehicles(
    info: Info,
    dealer_pk: int,
    filter: VehicleFilterInput | None,
    order_by: VehicleOrderBy | None,
    *,
    first: int | None,
    after: str | None,
    last: int | None,
    before: str | None,
) -> VehicleConnection:
    """One dealer's vehicles; batched over every dealer of the page by a DataLoader."""
    flt = _filter(filter)
    ordering = _ordering(order_by)
    page = _page(info, ordering, first=first, after=after, last=last, before=before)
    names = selected_names(info.selected_fields, ("edges", "node"))
    columns = vehicle_columns(names)
    columns = ALL_VEHICLE_COLUMNS if columns is None else columns
    loaders = info.context.loaders
    result = await loaders.vehicle_page_by_dealer_id.load(
        DealerVehiclesKey(dealer_pk, flt, ordering, page, columns)
    )

    async def count() -> int:
        return await loaders.vehicle_count_by_dealer_id.load((dealer_pk, flt))

    return VehicleConnection.build(
        result.rows,
        partial(catalog.encode_cursor, ordering),
        has_next_page=result.has_next_page,
        has_previous_page=result.has_previous_page,
        count=count,
    )


async def vehicle(info: Info, id: str) -> Vehicle | None:
    """One vehicle by global ID; null and NOT_FOUND when there is none."""
    pk = decode_int_id(id, "Vehicle")
    row = await info.context.loaders.vehicle_by_id.load(pk)
    if row is None:
        raise NotFoundError(f"no vehicle with id {id}", field="id")
    return Vehicle.from_row(row)


async def vehicle_by_vin(info: Info, vin: str) -> Vehicle | None:
    """One vehicle by VIN; a malformed VIN is BAD_USER_INPUT, an unknown one NOT_FOUND."""
    found = await find_by_vin(info, vin, field="vin")
    if found is None:
        raise NotFoundError(f"no vehicle with VIN {normalise_vin(vin)}", field="vin")
    return found


async def find_by_vin(info: Info, vin: str, *, field: str) -> Vehicle | None:
    """The vehicle with this VIN through the request's loader (None: there is none); a
    malformed VIN is BAD_USER_INPUT naming `field`."""
    normalised = normalise_vin(vin)
    if not is_valid_vin(normalised):
        raise BadUserInputError(
            f"{field}: 17 characters of A-Z (no I, O or Q) and 0-9 expected", field=field
        )
    row = await info.context.loaders.vehicle_by_vin.load(normalised)
    return None if row is None else Vehicle.from_row(row)


async def dealer(info: Info, id: str) -> Dealer | None:
    """One dealer by global ID; null and NOT_FOUND when there is none."""
    row = await info.context.loaders.dealer_by_id.load(decode_int_id(id, "Dealer"))
    if row is None:
        raise NotFoundError(f"no dealer with id {id}", field="id")
    return Dealer.from_row(row)


async def dealers(
    info: Info,
    country: str | None,
    *,
    first: int | None,
    after: str | None,
    last: int | None,
    before: str | None,
) -> DealerConnection:
    """Dealers ordered by name, optionally in one country."""
    limit, backwards = validate_page_args(
        first=first, after=after, last=last, before=before,
        max_page_size=info.context.settings.max_page_size,
    )  # fmt: skip
    if country is not None and not is_alpha2(country):
        raise BadUserInputError("country: ISO 3166-1 alpha-2 code expected", field="country")
    code = normalise_country(country) if country else None
    decode = partial(dealer_service.decode_dealer_cursor)
    conn = await info.context.db.get()
    result = await dealer_service.fetch_dealer_page(
        conn,
        country=code,
        limit=limit,
        backwards=backwards,
        after=decode_or_bad_input(partial(decode, argument="after"), after),
        before=decode_or_bad_input(partial(decode, argument="before"), before),
    )
    for row in result.rows:
        info.context.loaders.dealer_by_id.prime(row["id"], row)
    response_cache.tag(response_cache.DEALERS)  # membership and count: any dealer
    edges = [
        DealerEdge(cursor=dealer_service.encode_dealer_cursor(row), node=Dealer.from_row(row))
        for row in result.rows
    ]

    async def count() -> int:
        return await dealer_service.count_dealers(await info.context.db.get(), country=code)

    return DealerConnection(
        edges=edges,
        page_info=PageInfo.of(
            edges, has_next_page=result.has_next_page, has_previous_page=result.has_previous_page
        ),
        count=count,
    )
