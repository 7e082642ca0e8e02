"""The codes of business-rule refusals (`userErrors { field code message }`), as one enum.

One enum for every payload, not one per domain: a mutation's refusals cross domains
(createOrder refuses with order and pricing codes, checkout with payment and order codes)
and many codes are shared (REQUIRED, TEXT_LENGTH, OUT_OF_RANGE, DEALER_NOT_FOUND,
VEHICLE_UNAVAILABLE). With one enum every payload keeps the one `UserError` type, so a
client handles refusals with one fragment and one exhaustive switch, and a code generator
gives it one union of string literals. The values are the strings the rules have always
given (services' errors and FieldProblems, auth/passwords.py); a unit test checks that
every code they can give is here, and nothing else.
"""

from __future__ import annotations

import enum

import strawberry


def _code(value: str, description: str) -> object:
    return strawberry.enum_value(value, description=description)


@strawberry.enum(
    description="Why a business rule refused a mutation's input; stable, machine-readable."
)
class UserErrorCode(enum.Enum):
    # Inputs (registration, listings, dealers, feeds)
    REQUIRED = _code("REQUIRED", "A required value is missing or empty.")
    TEXT_LENGTH = _code("TEXT_LENGTH", "A text is empty or longer than allowed.")
    OUT_OF_RANGE = _code("OUT_OF_RANGE", "A number is outside its allowed range.")
    TOO_MANY_DECIMALS = _code("TOO_MANY_DECIMALS", "A decimal has more places than allowed.")
    DEALER_NOT_FOUND = _code("DEALER_NOT_FOUND", "No dealer with this id.")
    # Accounts
    EMAIL_INVALID = _code("EMAIL_INVALID", "Not a valid e-mail address.")
    EMAIL_TAKEN = _code("EMAIL_TAKEN", "An account with this e-mail address exists.")
    PASSWORD_TOO_SHORT = _code("PASSWORD_TOO_SHORT", "The password is too short.")
    PASSWORD_TOO_LONG = _code("PASSWORD_TOO_LONG", "The password is too long.")
    PASSWORD_TOO_COMMON = _code("PASSWORD_TOO_COMMON", "The password is too easy to guess.")
    PASSWORD_CONTAINS_EMAIL = _code(
        "PASSWORD_CONTAINS_EMAIL", "The password contains the e-mail address."
    )
    PASSWORD_INCORRECT = _code("PASSWORD_INCORRECT", "The current password is wrong.")
    PHONE_INVALID = _code("PHONE_INVALID", "Not a telephone number.")
    USER_NOT_FOUND = _code("USER_NOT_FOUND", "No user with this id.")
    # GDPR
    ORDER_IN_FLIGHT = _code(
        "ORDER_IN_FLIGHT", "An order is not finished: the account cannot be erased yet."
    )
    ACCOUNT_ERASED = _code("ACCOUNT_ERASED", "The account was erased.")
    # Listings
    VIN_INVALID = _code("VIN_INVALID", "Not a valid VIN (17 characters, no I, O or Q).")
    VIN_TAKEN = _code("VIN_TAKEN", "Another vehicle is listed with this VIN.")
    YEAR_OUT_OF_RANGE = _code("YEAR_OUT_OF_RANGE", "The model year is out of range.")
    DATE_OUT_OF_RANGE = _code("DATE_OUT_OF_RANGE", "The date is in the future or too old.")
    COUNTRY_UNSUPPORTED = _code("COUNTRY_UNSUPPORTED", "Not an EU member state.")
    VEHICLE_RESERVED = _code("VEHICLE_RESERVED", "The vehicle is reserved: it cannot change.")
    VEHICLE_SOLD = _code("VEHICLE_SOLD", "The vehicle is sold: it cannot change.")
    # Feed ingestion
    SOURCE_INVALID = _code("SOURCE_INVALID", "Not a valid feed source name.")
    URL_INVALID = _code("URL_INVALID", "Not a valid file path or URL.")
    URL_SCHEME_UNSUPPORTED = _code("URL_SCHEME_UNSUPPORTED", "Neither http(s) nor a file.")
    FEED_PATH_NOT_ALLOWED = _code(
        "FEED_PATH_NOT_ALLOWED", "The file is outside the feed directory."
    )
    FEED_NOT_FOUND = _code("FEED_NOT_FOUND", "No feed file at this path.")
    FEED_URL_NOT_ALLOWED = _code(
        "FEED_URL_NOT_ALLOWED", "The URL's host is not a public internet address."
    )
    # Pricing
    UNSUPPORTED_DESTINATION = _code(
        "UNSUPPORTED_DESTINATION", "Not a destination country we deliver to."
    )
    VEHICLE_NOT_FOUND = _code("VEHICLE_NOT_FOUND", "No vehicle with this id.")
    VEHICLE_NOT_PRICEABLE = _code(
        "VEHICLE_NOT_PRICEABLE", "The vehicle's origin or currency is outside the rules."
    )
    VEHICLE_UNAVAILABLE = _code(
        "VEHICLE_UNAVAILABLE", "The vehicle is reserved, sold or withdrawn."
    )
    # Photos
    PHOTO_TYPE_NOT_ALLOWED = _code(
        "PHOTO_TYPE_NOT_ALLOWED", "Not a JPEG, PNG, WebP, HEIC or AVIF picture (by its bytes)."
    )
    PHOTO_TOO_LARGE = _code("PHOTO_TOO_LARGE", "The file has more bytes than allowed or declared.")
    PHOTO_DIMENSIONS_TOO_LARGE = _code(
        "PHOTO_DIMENSIONS_TOO_LARGE", "Too many pixels, or too long a side (a decompression bomb)."
    )
    PHOTO_UNREADABLE = _code("PHOTO_UNREADABLE", "The picture's data is damaged.")
    UPLOAD_NOT_FOUND = _code("UPLOAD_NOT_FOUND", "No upload with this id.")
    UPLOAD_MISSING = _code("UPLOAD_MISSING", "Nothing has been uploaded for this id yet.")
    UPLOAD_EXPIRED = _code("UPLOAD_EXPIRED", "The upload's time ran out before a file came.")
    UPLOAD_ALREADY_ATTACHED = _code("UPLOAD_ALREADY_ATTACHED", "The upload is attached already.")
    TOO_MANY_PHOTOS = _code("TOO_MANY_PHOTOS", "The vehicle has as many photos as allowed.")
    PHOTO_ORDER_MISMATCH = _code(
        "PHOTO_ORDER_MISMATCH", "The list is not each of the vehicle's photos exactly once."
    )
    # Orders
    ORDER_NOT_FOUND = _code("ORDER_NOT_FOUND", "No order with this id that you may see.")
    TRANSITION_NOT_ALLOWED = _code(
        "TRANSITION_NOT_ALLOWED", "The order's state or your role does not allow this step."
    )
    VERSION_CONFLICT = _code(
        "VERSION_CONFLICT", "The order changed since the version you sent (expectedVersion)."
    )
    QUOTE_EXPIRED = _code("QUOTE_EXPIRED", "The quote is no longer valid.")
    QUOTE_MISMATCH = _code(
        "QUOTE_MISMATCH", "No such quote, or one for another vehicle or country."
    )
    # Payments
    PAYMENT_NOT_FOUND = _code("PAYMENT_NOT_FOUND", "No payment with this id.")
    PAYMENTS_NOT_CONFIGURED = _code("PAYMENTS_NOT_CONFIGURED", "Payments are not set up.")
    PAYMENT_PROVIDER_UNAVAILABLE = _code(
        "PAYMENT_PROVIDER_UNAVAILABLE", "The payment provider did not answer; retry later."
    )
    RESERVATION_EXPIRED = _code("RESERVATION_EXPIRED", "The reservation has lapsed.")
    NOT_REFUNDABLE = _code("NOT_REFUNDABLE", "The order cannot be refunded.")
    PAYMENT_DECLINED = _code("PAYMENT_DECLINED", "The payment method was declined.")
    PAYMENT_REFUSED = _code("PAYMENT_REFUSED", "The payment provider refused the request.")
