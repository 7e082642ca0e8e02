"""One refusal base and one mapping to userErrors: every domain refusal is a RefusalError
with a code of the one enum, and `refusal_errors` turns any of them into a payload's
userErrors naming the input field at fault."""

from __future__ import annotations

from core.errors import ErrorCode
from schema.errors import ErrorCode as SchemaErrorCode
from schema.payloads import UserError, refusal_errors
from schema.user_error_codes import UserErrorCode
from services.errors import FieldProblem, RefusalError, RefusalErrorCode
from services.feeds.errors import StartRefusedError
from services.orders import errors as order_errors
from services.payments.errors import PaymentDeclinedError, PaymentError
from services.pricing import errors as pricing_errors
from services.vehicles.listing import ListingRefusedError


def test_the_schema_enum_has_exactly_the_refusal_codes() -> None:
    assert [code.value for code in UserErrorCode] == [code.value for code in RefusalErrorCode]


def test_the_schema_error_codes_are_the_foundations() -> None:
    assert SchemaErrorCode is ErrorCode


def test_one_vehicle_unavailable_refusal_for_orders_and_pricing() -> None:
    assert order_errors.VehicleUnavailableError is pricing_errors.VehicleUnavailableError
    refusal = pricing_errors.not_quotable(7, "SOLD")
    assert isinstance(refusal, RefusalError)
    assert (refusal.code, refusal.field, refusal.vehicle_id, refusal.status) == (
        RefusalErrorCode.VEHICLE_UNAVAILABLE, "vehicleId", 7, "SOLD"
    )  # fmt: skip
    assert refusal.message == "the vehicle is sold and cannot be quoted"


def test_every_domain_refusal_is_a_refusal_error() -> None:
    for refusal_class in (
        order_errors.OrderError, PaymentError, pricing_errors.PricingError,
        ListingRefusedError, StartRefusedError,
    ):  # fmt: skip
        assert issubclass(refusal_class, RefusalError)


def test_a_single_refusal_names_its_field() -> None:
    refusal = order_errors.QuoteExpiredError("the quote expired at 12:00")
    assert refusal_errors(refusal) == [
        UserError(field=["input", "quoteId"], code=UserErrorCode.QUOTE_EXPIRED,
                  message="the quote expired at 12:00")
    ]  # fmt: skip


def test_a_refusal_can_be_put_on_another_input_field() -> None:
    refusal = order_errors.VersionConflictError("reload it")
    (error,) = refusal_errors(refusal, field="expectedVersion")
    assert (error.field, error.code) == (
        ["input", "expectedVersion"],
        UserErrorCode.VERSION_CONFLICT,
    )


def test_a_field_given_when_raised_wins_over_the_class_default() -> None:
    refusal = PaymentDeclinedError("declined", field="card")
    assert refusal_errors(refusal)[0].field == ["input", "card"]


def test_field_problems_become_one_user_error_each_with_input_names() -> None:
    refusal = ListingRefusedError([
        FieldProblem("vin", "VIN_INVALID", "17 characters."),
        FieldProblem("price_minor", "OUT_OF_RANGE", "Too high."),
    ])  # fmt: skip
    assert refusal.code is RefusalErrorCode.VIN_INVALID
    errors = refusal_errors(refusal, {"price_minor": "price"})
    assert [(e.field, e.code, e.message) for e in errors] == [
        (["input", "vin"], UserErrorCode.VIN_INVALID, "17 characters."),
        (["input", "price"], UserErrorCode.OUT_OF_RANGE, "Too high."),
    ]


def test_a_feed_start_refusal_is_one_field_problem() -> None:
    problem = FieldProblem("dealer_id", "DEALER_NOT_FOUND", "No dealer with this id.")
    refusal = StartRefusedError(problem)
    assert refusal.problem == problem
    (error,) = refusal_errors(refusal, {"dealer_id": "dealerId"})
    assert (error.field, error.code) == (["input", "dealerId"], UserErrorCode.DEALER_NOT_FOUND)
