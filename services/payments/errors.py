"""Why a payment operation is refused, as refusals with stable codes.

RefusalError (services/errors.py)
 └── PaymentError (code, field)
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

from services.errors import RefusalError, RefusalErrorCode


class PaymentError(RefusalError):
    """A payment operation was refused; `field` names the input at fault."""

    field = "orderId"


class PaymentNotFoundError(PaymentError):
    code = RefusalErrorCode.PAYMENT_NOT_FOUND
    field = "paymentId"


class PaymentsNotConfiguredError(PaymentError):
    code = RefusalErrorCode.PAYMENTS_NOT_CONFIGURED


class ProviderUnavailableError(PaymentError):
    code = RefusalErrorCode.PAYMENT_PROVIDER_UNAVAILABLE


class ReservationLapsedError(PaymentError):
    code = RefusalErrorCode.RESERVATION_EXPIRED


class NotRefundableError(PaymentError):
    code = RefusalErrorCode.NOT_REFUNDABLE


class PaymentDeclinedError(PaymentError):
    code = RefusalErrorCode.PAYMENT_DECLINED
    field = "paymentMethod"


class PaymentRefusedError(PaymentError):
    code = RefusalErrorCode.PAYMENT_REFUSED
