"""What the response cache may keep is exactly what anyone may see of the catalog.

The cache keys answers by audience, not by person, so no field reachable from a
cacheable root field may depend on who asks (a buyer's own orders, a dealer's drafts).
This pins every type and field reachable from `CACHEABLE_ROOT_FIELDS`: adding one makes
this test fail until someone has checked it reads nothing private, and that a change to
what it shows invalidates the cache (core/response_cache.py, services/vehicles/changes.py).
"""

from __future__ import annotations

from graphql import GraphQLInterfaceType, GraphQLObjectType, GraphQLUnionType, get_named_type

from core.response_cache import CACHEABLE_ROOT_FIELDS
from core.settings import Settings
from schema.build import build_schema

REVIEWED: dict[str, set[str]] = {
    "Vehicle": {
        "id", "vin", "make", "model", "trim", "year", "firstRegistration", "mileageKm", "fuel",
        "transmission", "bodyType", "colour", "powerKw", "co2GramsPerKm", "status", "source",
        "externalId", "createdAt", "updatedAt", "price", "location", "dealer",
        "deliveredPrice", "photos", "coverPhoto",
    },
    # READY photos only, the same for everyone; a gallery change drops the vehicle's
    # cached answers (services/photos/gallery.py `photos_changed`).
    "Photo": {"id", "position", "alt", "status", "failure", "width", "height", "blurhash",
              "sources", "srcset", "url"},
    "PhotoSource": {"url", "width", "height", "format", "bytes"},
    "Dealer": {"id", "name", "country", "city", "rating", "createdAt", "vehicles"},
    "VehicleConnection": {"edges", "pageInfo", "totalCount"},
    "VehicleEdge": {"cursor", "node"},
    "DealerConnection": {"edges", "pageInfo", "totalCount"},
    "DealerEdge": {"cursor", "node"},
    "PageInfo": {"hasNextPage", "hasPreviousPage", "startCursor", "endCursor"},
    "Money": {"amount", "currency"},
    "Location": {"country", "city"},
    "DeliveredPrice": {
        "destinationCountry", "subtotal", "vat", "total", "vatScheme", "marketPosition",
        "comparableCount", "marketValue", "rulesVersion", "valuationSource", "valuationModelVersion",
    },
}  # fmt: skip


def _reachable() -> dict[str, set[str]]:
    schema = build_schema(Settings(_env_file=None))._schema
    assert schema.query_type is not None
    seen: dict[str, set[str]] = {}
    pending = [
        get_named_type(field.type)
        for name, field in schema.query_type.fields.items()
        if name in CACHEABLE_ROOT_FIELDS
    ]
    while pending:
        named = pending.pop()
        if isinstance(named, GraphQLUnionType | GraphQLInterfaceType):
            pending.extend(schema.get_possible_types(named))
            continue
        if not isinstance(named, GraphQLObjectType) or named.name in seen:
            continue
        seen[named.name] = set(named.fields)
        pending.extend(get_named_type(field.type) for field in named.fields.values())
    return seen


def test_every_field_a_cached_answer_can_show_has_been_reviewed() -> None:
    assert _reachable() == REVIEWED
