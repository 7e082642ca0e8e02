"""DataLoaders, one per relation, built afresh for every request."""

from __future__ import annotations

from dataclasses import dataclass

from core.db import OperationConnection
from loaders.dealer import DealerByIdLoader
from loaders.feed import FeedRunByIdLoader, RejectionCountByRunIdLoader, RejectionsByRunIdLoader
from loaders.order import EventsByOrderIdLoader, OrderByIdLoader
from loaders.payment import (
    PaymentByIdLoader,
    PaymentsByOrderIdLoader,
    RefundByIdLoader,
    RefundsByPaymentIdLoader,
)
from loaders.photo import PhotosByVehicleIdLoader
from loaders.pricing import DeliveredPriceByVehicleIdLoader, QuoteByIdLoader
from loaders.user import UserByIdLoader
from loaders.vehicle import (
    VehicleByIdLoader,
    VehicleByVinLoader,
    VehicleCountByDealerIdLoader,
    VehiclePageByDealerIdLoader,
)

# node(id:) and nodes(ids:) cannot know which fields a fragment will ask for: they load all.
ALL_VEHICLE_COLUMNS = frozenset(
    {
        "id", "vin", "make", "model", "trim", "year", "first_registration", "mileage_km",
        "fuel", "transmission", "body_type", "colour", "power_kw", "co2_g_km",
        "location_country", "location_city", "dealer_id", "price_minor", "currency",
        "status", "source", "external_id", "created_at", "updated_at",
    }
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Loaders:
    dealer_by_id: DealerByIdLoader
    vehicle_by_id: VehicleByIdLoader
    vehicle_by_vin: VehicleByVinLoader
    vehicle_page_by_dealer_id: VehiclePageByDealerIdLoader
    vehicle_count_by_dealer_id: VehicleCountByDealerIdLoader
    user_by_id: UserByIdLoader
    delivered_price_by_vehicle_id: DeliveredPriceByVehicleIdLoader
    quote_by_id: QuoteByIdLoader
    order_by_id: OrderByIdLoader
    events_by_order_id: EventsByOrderIdLoader
    payment_by_id: PaymentByIdLoader
    payments_by_order_id: PaymentsByOrderIdLoader
    refund_by_id: RefundByIdLoader
    refunds_by_payment_id: RefundsByPaymentIdLoader
    feed_run_by_id: FeedRunByIdLoader
    rejections_by_run_id: RejectionsByRunIdLoader
    rejection_count_by_run_id: RejectionCountByRunIdLoader
    photos_by_vehicle_id: PhotosByVehicleIdLoader

    @classmethod
    def create(cls, connection: OperationConnection) -> Loaders:
        vehicle_by_id = VehicleByIdLoader(connection, ALL_VEHICLE_COLUMNS)
        return cls(
            dealer_by_id=DealerByIdLoader(connection),
            vehicle_by_id=vehicle_by_id,
            vehicle_by_vin=VehicleByVinLoader(connection, ALL_VEHICLE_COLUMNS, vehicle_by_id),
            vehicle_page_by_dealer_id=VehiclePageByDealerIdLoader(connection),
            vehicle_count_by_dealer_id=VehicleCountByDealerIdLoader(connection),
            user_by_id=UserByIdLoader(connection),
            delivered_price_by_vehicle_id=DeliveredPriceByVehicleIdLoader(connection),
            quote_by_id=QuoteByIdLoader(connection),
            order_by_id=OrderByIdLoader(connection),
            events_by_order_id=EventsByOrderIdLoader(connection),
            payment_by_id=PaymentByIdLoader(connection),
            payments_by_order_id=PaymentsByOrderIdLoader(connection),
            refund_by_id=RefundByIdLoader(connection),
            refunds_by_payment_id=RefundsByPaymentIdLoader(connection),
            feed_run_by_id=FeedRunByIdLoader(connection),
            rejections_by_run_id=RejectionsByRunIdLoader(connection),
            rejection_count_by_run_id=RejectionCountByRunIdLoader(connection),
            photos_by_vehicle_id=PhotosByVehicleIdLoader(connection),
        )
