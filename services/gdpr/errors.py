"""Why an export or an erasure was refused."""

from __future__ import annotations

from services.errors import RefusalError


class GdprRefusalError(RefusalError):
    """A GDPR request was refused."""


class OrderInFlightError(GdprRefusalError):
    code = "ORDER_IN_FLIGHT"
    argument = "userId"


class AccountNotFoundError(GdprRefusalError):
    code = "USER_NOT_FOUND"
    argument = "userId"


class AlreadyErasedError(GdprRefusalError):
    code = "ACCOUNT_ERASED"
    argument = "userId"
