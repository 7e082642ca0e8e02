"""Why an order operation is refused, as refusals with stable codes.

RefusalError (services/errors.py)
 ├── OrderError (code, field)
 │    ├── OrderNotFoundError         ORDER_NOT_FOUND          orderId
 │    ├── TransitionNotAllowedError  TRANSITION_NOT_ALLOWED   orderId (or step)
 │    ├── VersionConflictError       VERSION_CONFLICT         orderId
 │    ├── QuoteExpiredError          QUOTE_EXPIRED            quoteId
 │    └── QuoteMismatchError         QUOTE_MISMATCH           quoteId
 └── VehicleUnavailableError         VEHICLE_UNAVAILABLE      vehicleId (services/errors.py,
                                     shared with pricing)
DomainError
 └── CustomerGoneError                the buyer's account (or the partner) was deleted
                                      while the request ran: not a refusal to show
"""

from __future__ import annotations

from services.errors import DomainError, RefusalError, RefusalErrorCode, VehicleUnavailableError

__all__ = [
    "CustomerGoneError",
    "OrderError",
    "OrderNotFoundError",
    "QuoteExpiredError",
    "QuoteMismatchError",
    "TransitionNotAllowedError",
    "VehicleUnavailableError",
    "VersionConflictError",
]


class OrderError(RefusalError):
    """An order operation was refused; `field` names the input at fault."""

    field = "orderId"


class OrderNotFoundError(OrderError):
    code = RefusalErrorCode.ORDER_NOT_FOUND


class TransitionNotAllowedError(OrderError):
    code = RefusalErrorCode.TRANSITION_NOT_ALLOWED


class VersionConflictError(OrderError):
    code = RefusalErrorCode.VERSION_CONFLICT


class QuoteExpiredError(OrderError):
    code = RefusalErrorCode.QUOTE_EXPIRED
    field = "quoteId"


class QuoteMismatchError(OrderError):
    code = RefusalErrorCode.QUOTE_MISMATCH
    field = "quoteId"


class CustomerGoneError(DomainError):
    """The order's buyer or partner no longer exists (deleted while the request ran)."""
