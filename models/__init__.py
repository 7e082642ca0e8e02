"""SQLModel tables. Importing this package registers every table on `SQLModel.metadata`."""

from models.account import ApiKey, Partner, RefreshToken, User, UserRole
from models.audit import AuditEntry, DataExport, DataExportStatus
from models.dealer import Dealer
from models.feed import FeedFormat, FeedRejection, FeedRun, FeedRunStatus
from models.order import IdempotencyRecord, Order, OrderEvent, OrderEventOutbox, OrderStatus
from models.payment import Payment, PaymentStatus, Refund, RefundStatus, StripeEvent
from models.photo import Photo, PhotoImage, PhotoStatus, PhotoUpload
from models.quote import MarketPosition, Quote, QuoteLine, QuoteLineKind, VatScheme
from models.trusted_document import TrustedDocument
from models.valuation_model import ValuationModelRecord
from models.vehicle import BodyType, CurrencyCode, FuelType, Transmission, Vehicle, VehicleStatus

__all__ = [
    "ApiKey",
    "AuditEntry",
    "BodyType",
    "CurrencyCode",
    "DataExport",
    "DataExportStatus",
    "Dealer",
    "FeedFormat",
    "FeedRejection",
    "FeedRun",
    "FeedRunStatus",
    "FuelType",
    "IdempotencyRecord",
    "MarketPosition",
    "Order",
    "OrderEvent",
    "OrderEventOutbox",
    "OrderStatus",
    "Partner",
    "Payment",
    "PaymentStatus",
    "Photo",
    "PhotoImage",
    "PhotoStatus",
    "PhotoUpload",
    "Quote",
    "QuoteLine",
    "QuoteLineKind",
    "RefreshToken",
    "Refund",
    "RefundStatus",
    "StripeEvent",
    "Transmission",
    "TrustedDocument",
    "User",
    "UserRole",
    "ValuationModelRecord",
    "VatScheme",
    "Vehicle",
    "VehicleStatus",
]
