"""The typed per-request context every resolver receives as `info.context`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from redis.asyncio import Redis
from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket
from strawberry.types import Info as StrawberryInfo

from auth.principal import ANONYMOUS, Principal
from core.db import OperationConnection
from core.object_store import ObjectStore
from core.order_events_hub import OrderEventsHub
from core.rate_limit import RateLimiter
from core.settings import Settings
from loaders import Loaders
from services.payments.gateway import PaymentGateway

if TYPE_CHECKING:
    from typing import TypeAlias


@dataclass(slots=True)
class Context:
    request: Request | WebSocket
    response: Response | WebSocket | None
    settings: Settings
    db: OperationConnection
    redis: Redis
    loaders: Loaders
    request_id: str | None
    # Who is calling (auth/backend.py); over WebSocket, set again from connection_init.
    principal: Principal = ANONYMOUS
    # The WebSocket connection_init payload, set by Strawberry.
    connection_params: dict[str, object] | None = None
    # Spends query cost against the caller's budget (schema/throttle.py).
    rate_limiter: RateLimiter | None = None
    # The process's order events subscription, for orderStatusChanged (core/app.py).
    order_events: OrderEventsHub | None = None
    # The payment gateway (services/payments), None when payments are not configured.
    payments: PaymentGateway | None = None
    # The vehicle photos' object store (core/object_store.py), None without S3_URL.
    photo_store: ObjectStore | None = None
    # Set by a resolver whose answer holds credentials (access and refresh tokens): such
    # an answer is never kept for Idempotency-Key replays (core/idempotency.py).
    issues_credentials: bool = False


Info: TypeAlias = StrawberryInfo[Context, None]
