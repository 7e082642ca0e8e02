"""Why an order operation is refused, as domain errors with stable codes.

DomainError
 └── OrderError (code, argument)
      ├── OrderNotFoundError         ORDER_NOT_FOUND          orderId
      ├── TransitionNotAllowedError  TRANSITION_NOT_ALLOWED   orderId (or step)
      ├── VersionConflictError       VERSION_CONFLICT         orderId
      ├── VehicleUnavailableError    VEHICLE_UNAVAILABLE      vehicleId
      ├── QuoteExpiredError          QUOTE_EXPIRED            quoteId
      └── QuoteMismatchError         QUOTE_MISMATCH           quoteId
 └── CustomerGoneError                the buyer's account (or the partner) was deleted
                                      while the request ran: not a refusal to show
"""

from __future__ import annotations

from services.errors import DomainError, RefusalError


class OrderError(RefusalError):
    """An order operation was refused; `argument` names the input at fault."""

    code: str = "ORDER_ERROR"
    argument: str = "orderId"


class OrderNotFoundError(OrderError):
    code = "ORDER_NOT_FOUND"


class TransitionNotAllowedError(OrderError):
    code = "TRANSITION_NOT_ALLOWED"


class VersionConflictError(OrderError):
    code = "VERSION_CONFLICT"


class VehicleUnavailableError(OrderError):
    code = "VEHICLE_UNAVAILABLE"
    argument = "vehicleId"


class QuoteExpiredError(OrderError):
    code = "QUOTE_EXPIRED"
    argument = "quoteId"


class QuoteMismatchError(OrderError):
    code = "QUOTE_MISMATCH"
    argument = "quoteId"


class CustomerGoneError(DomainError):
    """The order's buyer or partner no longer exists (deleted while the request ran)."""
