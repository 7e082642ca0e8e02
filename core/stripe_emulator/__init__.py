"""A local Stripe: the part of Stripe's API the project uses, and signed webhooks.

No network reaches Stripe here (DESIGN 6.4), so `autobroker dev` and the tests point
the real `stripe` client at this emulator through STRIPE_API_BASE. It lives in core/,
not services/: it is runtime infrastructure the process runs beside the API (an HTTP
server, like the embedded PostgreSQL and Redis), not a business rule; the business
rules only ever see services/payments/gateway.py. It never imports `stripe` either, so
the tests check two independent implementations of Stripe's signing against each other.

    state.py     PaymentIntents, charges, refunds and the events they emit
    api.py       the HTTP API: form bodies, API key, Stripe's errors and idempotency
    webhooks.py  signing and delivery with retries
    server.py    StripeEmulator: served in-process, with controls for tests and dev

Development secrets (`dev` uses them when STRIPE_SECRET_KEY is unset) are random, made
once per data directory (dev.py); they only open that emulator, and `serve` refuses a
missing key, so they can never reach production.
"""

from core.stripe_emulator.server import StripeEmulator

__all__ = ["StripeEmulator"]
