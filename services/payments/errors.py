"""Why a payment operation is refused, as domain errors with stable codes.

DomainError
 └── PaymentError (code, argument)
      ├── PaymentNotFoundError        PAYMENT_NOT_FOUND            paymentId
      ├── PaymentsNotConfiguredError  PAYMENTS_NOT_CONFIGURED      orderId
      ├── ProviderUnavailableError    PAYMENT_PROVIDER_UNAVAILABLE orderId
      ├── ReservationLapsedError      RESERVATION_EXPIRED          orderId
      ├── NotRefundableError          NOT_REFUNDABLE               orderId
      ├── PaymentDeclinedError        PAYMENT_DECLINED             paymentMethod
      └── PaymentRefusedError         PAYMENT_REFUSED              (Stripe refused the request)

The order's own refusals (ORDER_NOT_FOUND, TRANSITION_NOT_ALLOWED) stay OrderErrors.
"""

from __future__ import annotations

from services.errors import RefusalError


class PaymentError(RefusalError):
    """A payment operation was refused; `argument` names the input at fault."""

    code: str = "PAYMENT_ERROR"
    argument: str = "orderId"


class PaymentNotFoundError(PaymentError):
    code = "PAYMENT_NOT_FOUND"
    argument = "paymentId"


class PaymentsNotConfiguredError(PaymentError):
    code = "PAYMENTS_NOT_CONFIGURED"


class ProviderUnavailableError(PaymentError):
    code = "PAYMENT_PROVIDER_UNAVAILABLE"


class ReservationLapsedError(PaymentError):
    code = "RESERVATION_EXPIRED"


class NotRefundableError(PaymentError):
    code = "NOT_REFUNDABLE"


class PaymentDeclinedError(PaymentError):
    code = "PAYMENT_DECLINED"
    argument = "paymentMethod"


class PaymentRefusedError(PaymentError):
    code = "PAYMENT_REFUSED"
