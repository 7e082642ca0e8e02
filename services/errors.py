"""Domain errors of the business rules, transport-neutral.

DomainError
 ├── RefusalError            a use-case refused: a `RefusalErrorCode` and the input `field`
 │    │                      at fault; resolvers turn every one into `userErrors` in one
 │    │                      place (schema/payloads.py `refusal_errors`)
 │    ├── FieldProblemsError  several input fields at fault, each a FieldProblem
 │    ├── VehicleUnavailableError  the vehicle is held by another order, sold or withdrawn
 │    └── OrderError, PaymentError, PricingError  (services/*/errors.py)
 └── InvalidArgumentError    an argument breaks a rule (names the argument): a query
                             argument, not a mutation's refusal (BAD_USER_INPUT)

FieldProblem: one input field refused by a rule.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class RefusalErrorCode(enum.StrEnum):
    """Every code a rule refuses with; the schema's UserErrorCode has exactly these."""

    # Inputs (registration, listings, dealers, feeds)
    REQUIRED = "REQUIRED"
    TEXT_LENGTH = "TEXT_LENGTH"
    OUT_OF_RANGE = "OUT_OF_RANGE"
    TOO_MANY_DECIMALS = "TOO_MANY_DECIMALS"
    DEALER_NOT_FOUND = "DEALER_NOT_FOUND"
    # Accounts
    EMAIL_INVALID = "EMAIL_INVALID"
    EMAIL_TAKEN = "EMAIL_TAKEN"
    PASSWORD_TOO_SHORT = "PASSWORD_TOO_SHORT"  # noqa: S105 (a code, not a secret)
    PASSWORD_TOO_LONG = "PASSWORD_TOO_LONG"  # noqa: S105 (a code, not a secret)
    PASSWORD_TOO_COMMON = "PASSWORD_TOO_COMMON"  # noqa: S105 (a code, not a secret)
    PASSWORD_CONTAINS_EMAIL = "PASSWORD_CONTAINS_EMAIL"  # noqa: S105 (a code, not a secret)
    PASSWORD_INCORRECT = "PASSWORD_INCORRECT"  # noqa: S105 (a code, not a secret)
    PHONE_INVALID = "PHONE_INVALID"
    USER_NOT_FOUND = "USER_NOT_FOUND"
    # GDPR
    ORDER_IN_FLIGHT = "ORDER_IN_FLIGHT"
    ACCOUNT_ERASED = "ACCOUNT_ERASED"
    # Listings
    VIN_INVALID = "VIN_INVALID"
    VIN_TAKEN = "VIN_TAKEN"
    YEAR_OUT_OF_RANGE = "YEAR_OUT_OF_RANGE"
    DATE_OUT_OF_RANGE = "DATE_OUT_OF_RANGE"
    COUNTRY_UNSUPPORTED = "COUNTRY_UNSUPPORTED"
    VEHICLE_RESERVED = "VEHICLE_RESERVED"
    VEHICLE_SOLD = "VEHICLE_SOLD"
    # Feed ingestion
    SOURCE_INVALID = "SOURCE_INVALID"
    URL_INVALID = "URL_INVALID"
    URL_SCHEME_UNSUPPORTED = "URL_SCHEME_UNSUPPORTED"
    FEED_PATH_NOT_ALLOWED = "FEED_PATH_NOT_ALLOWED"
    FEED_NOT_FOUND = "FEED_NOT_FOUND"
    FEED_URL_NOT_ALLOWED = "FEED_URL_NOT_ALLOWED"
    # Pricing
    UNSUPPORTED_DESTINATION = "UNSUPPORTED_DESTINATION"
    VEHICLE_NOT_FOUND = "VEHICLE_NOT_FOUND"
    VEHICLE_NOT_PRICEABLE = "VEHICLE_NOT_PRICEABLE"
    VEHICLE_UNAVAILABLE = "VEHICLE_UNAVAILABLE"
    # Photos
    PHOTO_TYPE_NOT_ALLOWED = "PHOTO_TYPE_NOT_ALLOWED"
    PHOTO_TOO_LARGE = "PHOTO_TOO_LARGE"
    PHOTO_DIMENSIONS_TOO_LARGE = "PHOTO_DIMENSIONS_TOO_LARGE"
    PHOTO_UNREADABLE = "PHOTO_UNREADABLE"
    UPLOAD_NOT_FOUND = "UPLOAD_NOT_FOUND"
    UPLOAD_MISSING = "UPLOAD_MISSING"
    UPLOAD_EXPIRED = "UPLOAD_EXPIRED"
    UPLOAD_ALREADY_ATTACHED = "UPLOAD_ALREADY_ATTACHED"
    TOO_MANY_PHOTOS = "TOO_MANY_PHOTOS"
    PHOTO_ORDER_MISMATCH = "PHOTO_ORDER_MISMATCH"
    # Orders
    ORDER_NOT_FOUND = "ORDER_NOT_FOUND"
    TRANSITION_NOT_ALLOWED = "TRANSITION_NOT_ALLOWED"
    VERSION_CONFLICT = "VERSION_CONFLICT"
    QUOTE_EXPIRED = "QUOTE_EXPIRED"
    QUOTE_MISMATCH = "QUOTE_MISMATCH"
    # Payments
    PAYMENT_NOT_FOUND = "PAYMENT_NOT_FOUND"
    PAYMENTS_NOT_CONFIGURED = "PAYMENTS_NOT_CONFIGURED"
    PAYMENT_PROVIDER_UNAVAILABLE = "PAYMENT_PROVIDER_UNAVAILABLE"
    RESERVATION_EXPIRED = "RESERVATION_EXPIRED"
    NOT_REFUNDABLE = "NOT_REFUNDABLE"
    PAYMENT_DECLINED = "PAYMENT_DECLINED"
    PAYMENT_REFUSED = "PAYMENT_REFUSED"


class DomainError(Exception):
    """A business rule refused the request."""


@dataclass(frozen=True, slots=True)
class FieldProblem:
    """One input field at fault: its name, a stable code and a sentence for the user."""

    field: str
    code: str
    message: str


class RefusalError(DomainError):
    """A use-case refused: `code` is stable, `field` names the input at fault (if one is)."""

    code: RefusalErrorCode
    field: str | None = None

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if field is not None:
            self.field = field

    @property
    def argument(self) -> str:
        """The input at fault; `input` as a whole when the refusal names no field."""
        return self.field or "input"

    @property
    def problems(self) -> list[FieldProblem]:
        """The refusal as one FieldProblem per input field at fault."""
        return [FieldProblem(self.argument, self.code.value, self.message)]


class FieldProblemsError(RefusalError):
    """The input breaks rules; every field at fault is named (each becomes a userError)."""

    def __init__(self, problems: list[FieldProblem]) -> None:
        super().__init__("; ".join(f"{p.field}: {p.message}" for p in problems))
        self.code = RefusalErrorCode(problems[0].code)
        self.field = problems[0].field
        self._problems = problems

    @property
    def problems(self) -> list[FieldProblem]:
        return self._problems


class VehicleUnavailableError(RefusalError):
    """The vehicle cannot be quoted or held: another order holds it, it is sold or gone."""

    code = RefusalErrorCode.VEHICLE_UNAVAILABLE
    field = "vehicleId"

    def __init__(
        self, message: str, *, vehicle_id: int | None = None, status: str | None = None
    ) -> None:
        super().__init__(message)
        self.vehicle_id = vehicle_id
        self.status = status


class InvalidArgumentError(DomainError):
    """An argument is malformed or contradicts another one."""

    def __init__(self, argument: str, message: str) -> None:
        super().__init__(f"{argument}: {message}")
        self.argument = argument
        self.message = message
