"""Every Redis key prefix the application uses, one constant each, in one place.

A key is its prefix followed by the identifiers the constant's comment names. Keeping
them here makes collisions visible and lets operations find what a key belongs to.
"""

from __future__ import annotations

# Pricing: one hash per vehicle, `quote-cache:<vehicle id>`, whose fields are
# `<destination>:<rules version>` and whose values are a computed pricing (JSON) with
# its own expiry; deleting the hash invalidates every destination of the vehicle at once.
QUOTE_CACHE_PREFIX = "quote-cache:"

# Sign-in throttling (services/accounts/throttle.py), counters expiring with their window:
# `throttle:login:account:<sha256(email)[:32]>` counts sign-in attempts on one account,
# `throttle:auth:client:<client address>` sign-in and registration attempts from one address.
LOGIN_ACCOUNT_THROTTLE_PREFIX = "throttle:login:account:"
AUTH_CLIENT_THROTTLE_PREFIX = "throttle:auth:client:"

# Session checks (services/accounts/session_check.py): `session:<refresh family id>` holds
# "<user id>:<role>:<dealer id>" while that sign-in was found alive, for SESSION_CACHE_SECONDS;
# logout and revocation delete it.
SESSION_CACHE_PREFIX = "session:"

# Query-cost rate limits (core/rate_limit.py): `rate-limit:<identity>`, a hash holding the
# bucket's level and last update; identity is `user:<id>`, `partner:<id>` or `ip:<address>`.
RATE_LIMIT_PREFIX = "rate-limit:"

# Automatic persisted queries (core/persisted_queries.py): `apq:<sha256 hex>` holds the
# document text of a query that passed validation.
PERSISTED_QUERY_PREFIX = "apq:"

# Order events (services/events.py): one pub/sub channel for every order's committed
# transitions; each message names its order and sequence. Each API process listens with
# one subscription (core/order_events_hub.py).
ORDER_EVENTS_CHANNEL = "order-events"

# Background jobs (jobs/worker.py): arq's queue. arq keeps its own keys beside it:
# `arq:job:<id>`, `arq:result:<id>`, `arq:in-progress:<id>`, `arq:retry:<id>`,
# `arq:abort`, and the health-check key `<queue>:health-check`. Job ids chosen by us:
# `stripe-event:<Stripe event id>` applies one webhook event once (jobs/payments.py).
JOB_QUEUE = "autobroker:jobs"

# The response cache (core/response_cache.py): `response-cache:<sha256 of the key's
# parts>` holds a cached `{"data": ...}`; `response-cache-tag:<tag>` is a sorted set of
# the entries showing that entity (tags: `vehicle:<id>`, `dealer:<id>`,
# `group:<make>/<model>`, `vehicles`, `dealers`, `prices`, `*`), scored by expiry;
# `response-cache-sequence` counts invalidations and `response-cache-invalidated:<tag>`
# holds the sequence that last dropped the tag.
RESPONSE_CACHE_PREFIX = "response-cache:"
RESPONSE_CACHE_TAG_PREFIX = "response-cache-tag:"
RESPONSE_CACHE_SEQUENCE = "response-cache-sequence"
RESPONSE_CACHE_INVALIDATED_PREFIX = "response-cache-invalidated:"
