"""The operations GraphiQL opens with, one tab each: browse the catalog, sign in, order
and pay, follow the order live. tests/unit/test_graphiql_examples.py validates every one
against the schema, with its variables."""

from __future__ import annotations

from dataclasses import dataclass

# The Headers tab's template; a header still holding it is not sent (core/graphiql.py).
TOKEN_PLACEHOLDER = "<paste an access token from login>"  # noqa: S105 - no secret
HEADERS_TEMPLATE = '{\n  "Authorization": "Bearer ' + TOKEN_PLACEHOLDER + '"\n}'


@dataclass(frozen=True, slots=True)
class ExampleTab:
    query: str
    variables: str | None = None


CATALOG = ExampleTab(
    query="""\
# Welcome to the Auto-Broker API. Press the run button to try this catalog query;
# open the documentation explorer (book icon) for the whole schema. The other tabs
# sign in, order a vehicle and follow the order live: paste the accessToken that
# login returns into the Authorization header of the Headers tab below.
query CatalogPage($filter: VehicleFilterInput, $first: Int = 10) {
  vehicles(filter: $filter, orderBy: {field: PRICE, direction: ASC}, first: $first) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges {
      cursor
      node {
        id vin make model trim year mileageKm fuel transmission bodyType
        price { amount currency }
        location { country city }
        dealer { id name city rating }
        coverPhoto { alt width height blurhash url(width: 640, format: WEBP) }
      }
    }
  }
}
""",
    variables=(
        '{\n  "filter": {"fuel": ["ELECTRIC", "HYBRID"], "yearMin": 2019, "priceMax": "40000"}\n}'
    ),
)

SIGN_IN = ExampleTab(
    query="""\
# Sign in (`autobroker dev` prints the demo accounts), then paste accessToken into the
# Authorization header of the Headers tab: "Bearer eyJ...". It lasts 15 minutes; trade
# the refreshToken for a new pair with refreshToken(input:).
mutation SignIn($input: LoginInput!) {
  login(input: $input) {
    accessToken
    accessTokenExpiresAt
    refreshToken
    user { id email role }
    userErrors { field code message }
  }
}
""",
    variables='{\n  "input": {"email": "buyer@example.com", "password": "demo-password"}\n}',
)

ORDER = ExampleTab(
    query="""\
# Signed in as a buyer: order a vehicle (its id from the catalog tab) delivered to a
# country, reserving it; then check out with the order's id, and (in development) pay
# with a Stripe test card. Pick the operation to run from the run button's menu.
mutation CreateOrder($vehicleId: ID!, $country: String! = "DE") {
  createOrder(input: {vehicleId: $vehicleId, destinationCountry: $country, reserve: true}) {
    order { id number status reservedUntil total { amount currency } }
    userErrors { field code message }
  }
}

mutation Checkout($orderId: ID!) {
  checkout(input: {orderId: $orderId}) {
    order { id status }
    payment { id status amount { amount currency } clientSecret }
    userErrors { field code message }
  }
}

mutation PayWithTestCard($paymentId: ID!) {
  confirmTestPayment(input: {paymentId: $paymentId, paymentMethod: "pm_card_visa"}) {
    payment { id status }
    userErrors { field code message }
  }
}
""",
    variables=(
        '{\n  "vehicleId": "<a vehicle id from the catalog>",\n'
        '  "orderId": "<the order id createOrder returned>",\n'
        '  "paymentId": "<the payment id checkout returned>"\n}'
    ),
)

LIVE_STATUS = ExampleTab(
    query="""\
# Follow an order live over WebSocket: every event after afterSequence, then each new
# one as it happens (check out or pay in another tab to see them arrive). The stream
# completes when the order is COMPLETED, CANCELLED or REFUNDED.
subscription OrderStatus($orderId: ID!, $afterSequence: Int = 0) {
  orderStatusChanged(orderId: $orderId, afterSequence: $afterSequence) {
    sequence from to actor reason at
    order { id status }
  }
}
""",
    variables='{\n  "orderId": "<the order id createOrder returned>"\n}',
)

EXAMPLE_TABS = (CATALOG, SIGN_IN, ORDER, LIVE_STATUS)
