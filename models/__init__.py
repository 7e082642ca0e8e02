"""SQLModel tables. Importing this package registers every table on `SQLModel.metadata`."""

from models.account import ApiKey, Partner, RefreshToken, User, UserRole
from models.dealer import Dealer
from models.order import IdempotencyRecord, Order, OrderEvent, OrderStatus
from models.quote import MarketPosition, Quote, QuoteLine, QuoteLineKind, VatScheme
from models.vehicle import BodyType, CurrencyCode, FuelType, Transmission, Vehicle, VehicleStatus

__all__ = [
    "ApiKey",
    "BodyType",
    "CurrencyCode",
    "Dealer",
    "FuelType",
    "IdempotencyRecord",
    "MarketPosition",
    "Order",
    "OrderEvent",
    "OrderStatus",
    "Partner",
    "Quote",
    "QuoteLine",
    "QuoteLineKind",
    "RefreshToken",
    "Transmission",
    "User",
    "UserRole",
    "VatScheme",
    "Vehicle",
    "VehicleStatus",
]
