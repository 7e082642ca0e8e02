"""The emulator's objects and their rules: PaymentIntents, charges, refunds, events.

Kept in memory, for the life of the emulator's process (a restart forgets everything,
as a fresh Stripe test account would). Shapes follow Stripe's API objects, trimmed to
the fields the project and stripe-python read. Every change emits the event Stripe
would send (`payment_intent.succeeded`, `charge.refunded`...) through `emit`.

Test payment methods, as in Stripe's test mode (https://docs.stripe.com/testing):
`pm_card_visa`, `pm_card_mastercard`, `pm_card_amex` succeed; `pm_card_chargeDeclined`,
`pm_card_chargeDeclinedInsufficientFunds`, `pm_card_chargeDeclinedExpiredCard` are
declined. One is the emulator's own: `pm_sepa_debit` stands for a SEPA Direct Debit,
which Stripe reports `processing` first and `succeeded` later (`settle`).
"""

from __future__ import annotations

import copy
import secrets
import string
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

SUCCEEDING = frozenset({"pm_card_visa", "pm_card_mastercard", "pm_card_amex"})
DECLINING = {
    "pm_card_chargeDeclined": ("card_declined", "generic_decline", "Your card was declined."),
    "pm_card_chargeDeclinedInsufficientFunds": (
        "card_declined",
        "insufficient_funds",
        "Your card has insufficient funds.",
    ),
    "pm_card_chargeDeclinedExpiredCard": ("expired_card", "expired_card", "Your card has expired."),
}
DELAYED = frozenset({"pm_sepa_debit"})
CONFIRMABLE = frozenset({"requires_payment_method", "requires_confirmation", "requires_action"})
CANCELABLE = CONFIRMABLE | {"requires_capture"}
CANCELLATION_REASONS = frozenset({"duplicate", "fraudulent", "requested_by_customer", "abandoned"})
REFUND_REASONS = frozenset({"duplicate", "fraudulent", "requested_by_customer"})
_ALPHABET = string.ascii_letters + string.digits


def new_id(prefix: str) -> str:
    return prefix + "".join(secrets.choice(_ALPHABET) for _ in range(24))


@dataclass(slots=True)
class StripeApiError(Exception):
    """An error as Stripe answers it: HTTP status and the `error` object."""

    status: int
    type: str
    message: str
    code: str | None = None
    param: str | None = None
    decline_code: str | None = None
    payment_intent: dict[str, Any] | None = None

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"type": self.type, "message": self.message}
        for name in ("code", "param", "decline_code", "payment_intent"):
            if (value := getattr(self, name)) is not None:
                error[name] = value
        if self.code:
            error["doc_url"] = f"https://stripe.com/docs/error-codes/{self.code.replace('_', '-')}"
        return {"error": error}


def invalid(message: str, *, code: str | None = None, param: str | None = None) -> StripeApiError:
    return StripeApiError(400, "invalid_request_error", message, code=code, param=param)


def missing(kind: str, object_id: str, param: str) -> StripeApiError:
    return StripeApiError(
        404,
        "invalid_request_error",
        f"No such {kind}: '{object_id}'",
        code="resource_missing",
        param=param,
    )


def unexpected_state(
    action: str, intent: dict[str, Any], allowed: frozenset[str]
) -> StripeApiError:
    return StripeApiError(
        400,
        "invalid_request_error",
        f"You cannot {action} this PaymentIntent because it has a status of {intent['status']}. "
        f"Only a PaymentIntent with one of the following statuses may be {action}ed: "
        f"{', '.join(sorted(allowed))}.",
        code="payment_intent_unexpected_state",
    )


class EmulatorState:
    """Stripe's objects in memory; `emit(type, object)` is called for every event."""

    def __init__(self, emit: Callable[[str, dict[str, Any]], None]) -> None:
        self.intents: dict[str, dict[str, Any]] = {}
        self.charges: dict[str, dict[str, Any]] = {}
        self.refunds: dict[str, dict[str, Any]] = {}
        self._emit = emit

    def emit(self, event_type: str, obj: dict[str, Any]) -> None:
        self._emit(event_type, copy.deepcopy(obj))

    def intent(self, intent_id: str) -> dict[str, Any]:
        found = self.intents.get(intent_id)
        if found is None:
            raise missing("payment_intent", intent_id, "intent")
        return found

    def create_intent(self, params: dict[str, Any]) -> dict[str, Any]:
        intent_id = new_id("pi_")
        methods = params.get("automatic_payment_methods") or {}
        intent = {
            "id": intent_id,
            "object": "payment_intent",
            "amount": params["amount"],
            "amount_capturable": 0,
            "amount_received": 0,
            "automatic_payment_methods": {"enabled": True}
            if methods.get("enabled") == "true"
            else None,
            "canceled_at": None,
            "cancellation_reason": None,
            "capture_method": "automatic",
            "client_secret": f"{intent_id}_secret_{new_id('')}",
            "confirmation_method": "automatic",
            "created": int(time.time()),
            "currency": params["currency"],
            "description": params.get("description"),
            "last_payment_error": None,
            "latest_charge": None,
            "livemode": False,
            "metadata": params.get("metadata") or {},
            "next_action": None,
            "payment_method": None,
            "payment_method_types": params.get("payment_method_types") or ["card"],
            "status": "requires_payment_method",
        }
        self.intents[intent_id] = intent
        self.emit("payment_intent.created", intent)
        return intent

    def confirm(self, intent_id: str, params: dict[str, Any]) -> dict[str, Any]:
        intent = self.intent(intent_id)
        if intent["status"] not in CONFIRMABLE:
            raise unexpected_state("confirm", intent, CONFIRMABLE)
        method = params.get("payment_method")
        if not method:
            raise StripeApiError(
                400,
                "invalid_request_error",
                "You cannot confirm this PaymentIntent because it's missing a payment method.",
                code="parameter_missing",
                param="payment_method",
            )
        if method in DECLINING:
            code, decline_code, message = DECLINING[method]
            intent.update(
                status="requires_payment_method",
                payment_method=None,
                last_payment_error={
                    "type": "card_error",
                    "code": code,
                    "decline_code": decline_code,
                    "message": message,
                    "payment_method": {"id": method},
                },
            )
            self.emit("payment_intent.payment_failed", intent)
            raise StripeApiError(
                402,
                "card_error",
                message,
                code=code,
                param="",
                decline_code=decline_code,
                payment_intent=copy.deepcopy(intent),
            )
        if method in DELAYED:
            intent.update(status="processing", payment_method=method, last_payment_error=None)
            self.emit("payment_intent.processing", intent)
            return intent
        if method not in SUCCEEDING:
            raise missing("PaymentMethod", method, "payment_method")
        intent.update(payment_method=method, last_payment_error=None)
        self._succeed(intent)
        return intent

    def settle(self, intent_id: str) -> dict[str, Any]:
        """A delayed payment method's money arrived: processing becomes succeeded."""
        intent = self.intent(intent_id)
        if intent["status"] == "processing":
            self._succeed(intent)
        return intent

    def _succeed(self, intent: dict[str, Any]) -> None:
        charge_id = new_id("ch_")
        charge = {
            "id": charge_id,
            "object": "charge",
            "amount": intent["amount"],
            "amount_captured": intent["amount"],
            "amount_refunded": 0,
            "captured": True,
            "created": int(time.time()),
            "currency": intent["currency"],
            "livemode": False,
            "metadata": intent["metadata"],
            "paid": True,
            "payment_intent": intent["id"],
            "payment_method": intent["payment_method"],
            "refunded": False,
            "status": "succeeded",
        }
        self.charges[charge_id] = charge
        intent.update(status="succeeded", amount_received=intent["amount"], latest_charge=charge_id)
        self.emit("charge.succeeded", charge)
        self.emit("payment_intent.succeeded", intent)

    def cancel(self, intent_id: str, params: dict[str, Any]) -> dict[str, Any]:
        intent = self.intent(intent_id)
        reason = params.get("cancellation_reason")
        if reason is not None and reason not in CANCELLATION_REASONS:
            raise invalid(
                "Invalid cancellation_reason: must be one of "
                + ", ".join(sorted(CANCELLATION_REASONS)),
                code="parameter_invalid_string",
                param="cancellation_reason",
            )
        if intent["status"] not in CANCELABLE:
            raise unexpected_state("cancel", intent, CANCELABLE)
        intent.update(status="canceled", canceled_at=int(time.time()), cancellation_reason=reason)
        self.emit("payment_intent.canceled", intent)
        return intent

    def refund(self, params: dict[str, Any]) -> dict[str, Any]:
        intent_id = params.get("payment_intent")
        if not intent_id:
            raise invalid(
                "One of the following params should be provided for this request: "
                "payment_intent or charge.",
                code="parameter_missing",
                param="payment_intent",
            )
        intent = self.intents.get(intent_id)
        if intent is None:
            raise missing("payment_intent", intent_id, "payment_intent")
        charge = self.charges.get(intent["latest_charge"] or "")
        if charge is None:
            raise invalid(
                f"This PaymentIntent ({intent_id}) does not have a successful charge to refund.",
                code="charge_not_refundable",
                param="payment_intent",
            )
        remaining = charge["amount"] - charge["amount_refunded"]
        if remaining == 0:
            raise invalid(
                f"Charge {charge['id']} has already been refunded.", code="charge_already_refunded"
            )
        amount = params.get("amount", remaining)
        if amount > remaining:
            raise invalid(
                f"Refund amount ({amount}) is greater than the unrefunded amount on the "
                f"charge ({remaining}).",
                code="amount_too_large",
                param="amount",
            )
        reason = params.get("reason")
        if reason is not None and reason not in REFUND_REASONS:
            raise invalid(
                f"Invalid reason: must be one of {', '.join(sorted(REFUND_REASONS))}",
                code="parameter_invalid_string",
                param="reason",
            )
        refund = {
            "id": new_id("re_"),
            "object": "refund",
            "amount": amount,
            "charge": charge["id"],
            "created": int(time.time()),
            "currency": charge["currency"],
            "metadata": params.get("metadata") or {},
            "payment_intent": intent_id,
            "reason": reason,
            "status": "succeeded",
        }
        self.refunds[refund["id"]] = refund
        charge["amount_refunded"] += amount
        charge["refunded"] = charge["amount_refunded"] == charge["amount"]
        self.emit("refund.created", refund)
        self.emit("charge.refunded", charge)
        return refund

    def refund_by_id(self, refund_id: str) -> dict[str, Any]:
        found = self.refunds.get(refund_id)
        if found is None:
            raise missing("refund", refund_id, "refund")
        return found
