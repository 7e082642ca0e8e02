"""Payment rules without a database: Stripe's words in ours, a payment never moving
backwards, events read as facts, and `stripe` imported in one module only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from models.payment import PaymentStatus, RefundStatus
from services.payments.apply import IntentFact, RefundFact
from services.payments.statuses import intent_status, refund_status, supersedes
from services.payments.webhooks import fact_of
from tests.unit.test_architecture import ROOT, _imports

P = PaymentStatus
T0 = datetime(2025, 1, 1, tzinfo=UTC)
LATER = T0 + timedelta(seconds=5)


@pytest.mark.parametrize(
    ("new", "new_at", "current", "current_at", "expected"),
    [
        (P.SUCCEEDED, T0, P.PENDING, None, True),
        (P.FAILED, LATER, P.SUCCEEDED, T0, False),  # payment_failed after succeeded
        (P.PROCESSING, LATER, P.SUCCEEDED, T0, False),  # late processing
        (P.PENDING, LATER, P.SUCCEEDED, T0, False),  # late created
        (P.SUCCEEDED, T0, P.FAILED, LATER, True),  # a success beats any open status
        (P.REFUNDED, T0, P.SUCCEEDED, LATER, True),
        (P.SUCCEEDED, LATER, P.REFUNDED, T0, False),
        (P.CANCELED, LATER, P.SUCCEEDED, T0, False),
        (P.SUCCEEDED, LATER, P.CANCELED, T0, False),
        (P.FAILED, LATER, P.PROCESSING, T0, True),  # a newer decline
        (P.FAILED, T0, P.PROCESSING, LATER, False),  # an older decline
        (P.PROCESSING, T0, P.FAILED, T0, True),  # same second: the retry is later
        (P.PENDING, T0, P.FAILED, T0, False),
        (P.SUCCEEDED, T0, P.SUCCEEDED, T0, False),  # a duplicate changes nothing
    ],
)
def test_a_payment_never_moves_backwards(
    new: PaymentStatus, new_at: datetime, current: PaymentStatus, current_at: datetime | None,
    expected: bool,
) -> None:  # fmt: skip
    assert supersedes(new, new_at, current, current_at) is expected


def test_stripe_statuses_in_our_words() -> None:
    assert intent_status("requires_payment_method") is P.PENDING
    assert intent_status("requires_payment_method", has_error=True) is P.FAILED
    assert intent_status("requires_action") is P.PENDING
    assert intent_status("processing") is P.PROCESSING
    assert intent_status("succeeded") is P.SUCCEEDED
    assert intent_status("canceled") is P.CANCELED
    assert refund_status("pending") is RefundStatus.PENDING
    assert refund_status("succeeded") is RefundStatus.SUCCEEDED
    with pytest.raises(ValueError, match="unknown"):
        intent_status("exploded")


def test_events_are_read_as_facts() -> None:
    intent = {"id": "pi_1", "metadata": {"order_id": "7"},
              "last_payment_error": {"message": "Your card was declined."}}  # fmt: skip
    assert fact_of("payment_intent.payment_failed", 1735689600, intent) == IntentFact(
        "pi_1", P.FAILED, T0, {"order_id": "7"}, "Your card was declined."
    )
    charge = {"id": "ch_1", "payment_intent": "pi_1", "refunded": True}
    assert fact_of("charge.refunded", 1735689600, charge) == IntentFact("pi_1", P.REFUNDED, T0)
    partial = charge | {"refunded": False}
    assert fact_of("charge.refunded", 1735689600, partial) is None
    refund = {"id": "re_1", "status": "failed", "metadata": {"refund_id": "3"}}
    assert fact_of("refund.updated", 1735689600, refund) == RefundFact(
        "re_1", RefundStatus.FAILED, T0, {"refund_id": "3"}
    )
    assert fact_of("customer.created", 1735689600, {"id": "cus_1"}) is None


def test_only_the_stripe_gateway_imports_stripe() -> None:
    packages = ("core", "models", "services", "schema", "resolvers", "loaders", "jobs", "auth")
    importers = sorted(
        str(path.relative_to(ROOT))
        for package in packages
        for path in (ROOT / package).rglob("*.py")
        if "static" not in path.parts
        and any(name.split(".")[0] == "stripe" for name in _imports(path))
    )
    assert importers == ["services/payments/stripe_gateway.py"]
