"""Payments: Stripe PaymentIntents, verified webhooks, reconciliation and refunds.

gateway.py         the PaymentGateway protocol and the plain values it speaks in
stripe_gateway.py  its Stripe implementation: the only module that imports `stripe`
statuses.py        pure rules: Stripe's words to ours, and which fact may replace which
checkout.py        checkout: a payment row (and its idempotency key) before the call
webhooks.py        verified webhook events stored once, by Stripe's event id
apply.py           applying one fact (event or Stripe's answer) to payment and order
reconcile.py       asking Stripe about what stayed pending too long
refunds.py         refunds: started by staff (or the system), settled by Stripe
queries.py         reads for the API's loaders
"""
