"""SQLModel tables. Importing this package registers every table on `SQLModel.metadata`."""

from models.dealer import Dealer
from models.vehicle import BodyType, CurrencyCode, FuelType, Transmission, Vehicle, VehicleStatus

__all__ = [
    "BodyType",
    "CurrencyCode",
    "Dealer",
    "FuelType",
    "Transmission",
    "Vehicle",
    "VehicleStatus",
]
