"""The GraphQL operations the read scenarios send, shared by the floor and the harness.

The floor answers exactly these texts (by body, or by their SHA-256 over GET), so a
change here changes every contender at once.
"""

from __future__ import annotations

import hashlib
from typing import Any

# A buyer's catalog page: 14 fields a vehicle, its dealer and its price delivered to one
# country, filtered and sorted, with the count of matches and the cursor of the next page.
CATALOG_PAGE = """\
query CatalogPage($filter: VehicleFilterInput, $orderBy: VehicleOrderBy, $first: Int!, \
$destination: String!) {
  vehicles(filter: $filter, orderBy: $orderBy, first: $first) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges {
      cursor
      node {
        id vin make model trim year mileageKm fuel transmission bodyType
        price { amount currency }
        location { country city }
        dealer { id name city rating }
        deliveredPrice(destinationCountry: $destination) {
          total { amount currency }
          marketPosition
        }
      }
    }
  }
}
"""

CATALOG_PAGE_VARIABLES: dict[str, Any] = {
    "filter": {
        "fuel": ["ELECTRIC", "HYBRID"],
        "yearMin": 2019,
        "priceMax": "40000",
        "status": ["AVAILABLE"],
    },
    "orderBy": {"field": "PRICE", "direction": "ASC"},
    "first": 50,
    "destination": "DE",
}

# A vehicle's own page: every listing field, its dealer and the full delivered price.
VEHICLE_DETAIL = """\
query VehicleDetail($id: ID!, $destination: String!) {
  vehicle(id: $id) {
    id vin make model trim year firstRegistration mileageKm fuel transmission bodyType
    colour powerKw co2GramsPerKm status createdAt
    price { amount currency }
    location { country city }
    dealer { id name country city rating }
    deliveredPrice(destinationCountry: $destination) {
      destinationCountry
      subtotal { amount currency }
      vat { amount currency }
      total { amount currency }
      vatScheme marketPosition comparableCount
      marketValue { amount currency }
      rulesVersion
    }
  }
}
"""


def sha256_hex(text: str) -> str:
    """The persisted-query hash of an operation text (Apollo's protocol)."""
    return hashlib.sha256(text.encode()).hexdigest()
