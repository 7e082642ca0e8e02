"""Catalog types: Vehicle, Dealer, their connections, filters and orderings."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import strawberry

from core import response_cache
from models.vehicle import BodyType, FuelType, Transmission, VehicleStatus
from schema import enums  # noqa: F401 - gives the domain enums their GraphQL names and descriptions
from schema.context import Info
from schema.ids import decode_int_id, to_global_id
from schema.money import Money, to_minor
from schema.node import Node
from schema.pagination import PageInfo
from schema.pricing import DeliveredPrice
from services.countries import normalise_country
from services.vehicles.catalog import SortDirection, VehicleFilter, VehicleSort

# GraphQL field of Vehicle -> the columns it reads. A field missing here (added later,
# or computed) makes a list query fetch every column rather than fail.
VEHICLE_FIELD_COLUMNS: dict[str, tuple[str, ...]] = {
    "id": (), "__typename": (), "vin": ("vin",), "make": ("make",), "model": ("model",),
    "trim": ("trim",), "year": ("year",), "firstRegistration": ("first_registration",),
    "mileageKm": ("mileage_km",), "fuel": ("fuel",), "transmission": ("transmission",),
    "bodyType": ("body_type",), "colour": ("colour",), "powerKw": ("power_kw",),
    "co2GramsPerKm": ("co2_g_km",), "location": ("location_country", "location_city"),
    "dealer": ("dealer_id",), "price": ("price_minor", "currency"), "status": ("status",),
    "source": ("source",), "externalId": ("external_id",), "createdAt": ("created_at",),
    "updatedAt": ("updated_at",),
    # Priced from the vehicle's own row, read with its comparables in one statement.
    "deliveredPrice": (),
}  # fmt: skip


def vehicle_columns(field_names: set[str]) -> frozenset[str] | None:
    """The columns these Vehicle fields need, or None when every column is needed."""
    columns: set[str] = set()
    for name in field_names:
        needed = VEHICLE_FIELD_COLUMNS.get(name)
        if needed is None:
            return None
        columns.update(needed)
    return frozenset(columns)


@strawberry.type(description="Where a vehicle stands.")
class Location:
    country: str = strawberry.field(description="ISO 3166-1 alpha-2 country code.")
    city: str


@strawberry.federation.type(keys=["id", "vin"], description="A vehicle listed for sale.")
class Vehicle(Node):
    vin: str = strawberry.field(description="17-character Vehicle Identification Number.")
    make: str
    model: str
    trim: str | None
    year: int = strawberry.field(description="Model year.")
    first_registration: date | None = strawberry.field(description="None for a new car.")
    mileage_km: int
    fuel: FuelType
    transmission: Transmission
    body_type: BodyType
    colour: str
    power_kw: int
    co2_g_km: int | None = strawberry.field(
        name="co2GramsPerKm", description="CO2 emissions, g/km (WLTP)."
    )
    status: VehicleStatus
    source: str | None = strawberry.field(description="Feed the vehicle was ingested from.")
    external_id: str | None = strawberry.field(description="Its id in that feed.")
    created_at: datetime
    updated_at: datetime
    pk: strawberry.Private[int]
    dealer_id: strawberry.Private[int]
    price_minor: strawberry.Private[int]
    currency: strawberry.Private[str]
    location_country: strawberry.Private[str]
    location_city: strawberry.Private[str]
    # Plain attributes, not resolvers: a resolver costs Strawberry an Info object and
    # argument parsing on each of a page's thousands of fields.
    price: Money = strawberry.field(description="Asking price.")
    location: Location

    @classmethod
    def from_row(cls, row: Any, dealer: Dealer | None = None) -> Vehicle:
        """The vehicle of a row of selected columns; `dealer`, when the row came with it."""
        # A catalog page builds thousands of these: filling __dict__ from the selected
        # columns skips the dataclass constructor and tolerates unselected columns.
        vehicle = cls.__new__(cls)
        values = vehicle.__dict__
        values.update(row)
        values["pk"] = row["id"]
        values["id"] = to_global_id("Vehicle", row["id"])
        # (a sort key may come without the rest: price_minor alone orders by price)
        if "currency" in row and "price_minor" in row:
            values["price"] = Money.from_minor(row["price_minor"], row["currency"])
        if "location_city" in row and "location_country" in row:
            values["location"] = Location(
                country=row["location_country"], city=row["location_city"]
            )
        values["known_dealer"] = dealer
        response_cache.tag(response_cache.vehicle_tag(row["id"]))
        return vehicle

    @strawberry.field(description="The dealer that lists the vehicle.")
    def dealer(self, info: Info) -> Dealer:
        # A catalog page comes with its dealers (joined into its statement): answered at
        # once, no task. Elsewhere the dealer comes through its DataLoader: the resolver
        # then returns an awaitable, which GraphQL awaits like an async resolver's.
        known: Dealer | None = self.__dict__.get("known_dealer")
        if known is not None:
            return known
        return self._load_dealer(info)  # type: ignore[return-value]

    async def _load_dealer(self, info: Info) -> Dealer:
        row = await info.context.loaders.dealer_by_id.load(self.dealer_id)
        return Dealer.from_row(row)

    @strawberry.field(
        description="The price delivered to an EU country (ISO 3166-1 alpha-2), VAT "
        "included; null for a sold or withdrawn vehicle. Batched over a page."
    )
    def delivered_price(self, info: Info, destination_country: str) -> DeliveredPrice | None:
        # A catalog page prices its vehicles in one batch before GraphQL reaches them
        # (resolvers/pricing.py `prefetch_delivered_prices`): answered at once, no task.
        known = self.__dict__.get("known_prices")
        if known is not None and destination_country in known:
            pricing = known[destination_country]
            return None if pricing is None else DeliveredPrice.from_pricing(pricing)
        return self._load_delivered_price(info, destination_country)  # type: ignore[return-value]

    async def _load_delivered_price(
        self, info: Info, destination_country: str
    ) -> DeliveredPrice | None:
        from resolvers.pricing import delivered_price

        return await delivered_price(info, self.pk, destination_country)


@strawberry.type
class VehicleEdge:
    cursor: str
    node: Vehicle


@strawberry.type(description="A page of vehicles (Relay connection).")
class VehicleConnection:
    edges: list[VehicleEdge]
    page_info: PageInfo
    count: strawberry.Private[Callable[[], Awaitable[int]]]

    @strawberry.field(description="How many vehicles match, on every page together.")
    async def total_count(self) -> int:
        return await self.count()

    @classmethod
    def build(
        cls,
        rows: Sequence[Any],
        cursor_of: Callable[[Any], str],
        *,
        has_next_page: bool,
        has_previous_page: bool,
        count: Callable[[], Awaitable[int]],
        dealers: Mapping[int, Any] | None = None,
    ) -> VehicleConnection:
        """The page's connection; `dealers`: the page's dealer rows by id, when joined."""
        response_cache.tag(response_cache.VEHICLES)  # membership and count: any vehicle
        known = {pk: Dealer.from_row(row) for pk, row in (dealers or {}).items()}
        edges = [
            VehicleEdge(
                cursor=cursor_of(row),
                node=Vehicle.from_row(row, known[row["dealer_id"]] if known else None),
            )
            for row in rows
        ]
        return cls(
            edges=edges,
            page_info=PageInfo.of(
                edges, has_next_page=has_next_page, has_previous_page=has_previous_page
            ),
            count=count,
        )


@strawberry.input(description="Catalog filters; all optional, combined with AND.")
class VehicleFilterInput:
    make: str | None = strawberry.UNSET
    model: str | None = strawberry.UNSET
    year_min: int | None = strawberry.UNSET
    year_max: int | None = strawberry.UNSET
    price_min: Decimal | None = strawberry.field(default=strawberry.UNSET, description="EUR.")
    price_max: Decimal | None = strawberry.field(default=strawberry.UNSET, description="EUR.")
    mileage_max: int | None = strawberry.field(default=strawberry.UNSET, description="km.")
    fuel: list[FuelType] | None = strawberry.UNSET
    transmission: list[Transmission] | None = strawberry.UNSET
    body_type: list[BodyType] | None = strawberry.UNSET
    country: list[str] | None = strawberry.field(
        default=strawberry.UNSET, description="Vehicle location, ISO 3166-1 alpha-2."
    )
    dealer_id: list[strawberry.ID] | None = strawberry.UNSET
    status: list[VehicleStatus] | None = strawberry.field(
        default=strawberry.UNSET, description="Default: every status."
    )
    search: str | None = strawberry.field(
        default=strawberry.UNSET, description="Full-text search on make, model and trim."
    )

    def to_domain(self) -> VehicleFilter:
        def opt(value: Any) -> Any:
            return None if value is strawberry.UNSET else value

        def many(values: Any) -> tuple[Any, ...]:
            return () if values in (None, strawberry.UNSET) else tuple(values)

        return VehicleFilter(
            make=opt(self.make),
            model=opt(self.model),
            year_min=opt(self.year_min),
            year_max=opt(self.year_max),
            price_min_minor=None
            if opt(self.price_min) is None
            else to_minor(self.price_min, field="priceMin"),  # type: ignore[arg-type]
            price_max_minor=None
            if opt(self.price_max) is None
            else to_minor(self.price_max, field="priceMax"),  # type: ignore[arg-type]
            mileage_max=opt(self.mileage_max),
            fuels=tuple(v.value for v in many(self.fuel)),
            transmissions=tuple(v.value for v in many(self.transmission)),
            body_types=tuple(v.value for v in many(self.body_type)),
            countries=tuple(normalise_country(c) for c in many(self.country)),
            dealer_ids=tuple(
                decode_int_id(gid, "Dealer", field="dealerId") for gid in many(self.dealer_id)
            ),
            statuses=tuple(v.value for v in many(self.status)),
            search=(opt(self.search) or "").strip() or None,
        )


@strawberry.input(description="Catalog ordering; ties are broken by id.")
class VehicleOrderBy:
    field: VehicleSort = VehicleSort.NEWEST
    direction: SortDirection = SortDirection.DESC


@strawberry.federation.type(keys=["id"], description="A business that lists vehicles.")
class Dealer(Node):
    name: str
    country: str = strawberry.field(description="ISO 3166-1 alpha-2 country code.")
    city: str
    rating: Decimal = strawberry.field(
        description="Customer rating, an exact decimal from 0.0 to 5.0 with one decimal place "
        '("4.5"); the same type UpdateDealerInput.rating takes.'
    )
    created_at: datetime
    pk: strawberry.Private[int]

    @classmethod
    def from_row(cls, row: Any) -> Dealer:
        response_cache.tag(response_cache.dealer_tag(row["id"]))
        return cls(
            id=strawberry.ID(to_global_id("Dealer", row["id"])),
            pk=row["id"],
            name=row["name"],
            country=row["country"],
            city=row["city"],
            rating=row["rating"],
            created_at=row["created_at"],
        )

    @strawberry.field(description="The dealer's vehicles, newest first by default.")
    async def vehicles(
        self,
        info: Info,
        filter: VehicleFilterInput | None = None,
        order_by: VehicleOrderBy | None = None,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> VehicleConnection:
        from resolvers.catalog import dealer_vehicles

        return await dealer_vehicles(
            info, self.pk, filter, order_by, first=first, after=after, last=last, before=before
        )


@strawberry.type
class DealerEdge:
    cursor: str
    node: Dealer


@strawberry.type(description="A page of dealers (Relay connection).")
class DealerConnection:
    edges: list[DealerEdge]
    page_info: PageInfo
    count: strawberry.Private[Callable[[], Awaitable[int]]]

    @strawberry.field(description="How many dealers match, on every page together.")
    async def total_count(self) -> int:
        return await self.count()
