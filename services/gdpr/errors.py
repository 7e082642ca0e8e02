"""Why an export or an erasure was refused, as refusals with stable codes."""

from __future__ import annotations

from services.errors import RefusalError, RefusalErrorCode


class GdprRefusalError(RefusalError):
    """A GDPR request was refused; `field` names the input at fault."""

    field = "userId"


class OrderInFlightError(GdprRefusalError):
    code = RefusalErrorCode.ORDER_IN_FLIGHT


class AccountNotFoundError(GdprRefusalError):
    code = RefusalErrorCode.USER_NOT_FOUND


class AlreadyErasedError(GdprRefusalError):
    code = RefusalErrorCode.ACCOUNT_ERASED
