"""The ASGI application: create_app() and its lifespan."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import partial

from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware
from redis.asyncio import Redis
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.authentication import AuthenticationMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from auth.backend import ApiAuthenticationBackend, Authenticator, unauthenticated_response
from auth.passwords import dummy_hash
from auth.tokens import TokenCodec
from core import metrics
from core.db import Database, create_engine
from core.error_boundary import ErrorBoundaryMiddleware
from core.event_streams import stop_streams_on_signals
from core.export_download import ExportDownloadEndpoint
from core.graphiql import GRAPHIQL_ASSETS_PATH, graphiql_assets_app
from core.graphql_view import GraphQLView
from core.job_queue import ArqJobQueue
from core.logging import request_id_var
from core.object_store import ObjectStore
from core.order_events_hub import OrderEventsHub
from core.outbox_relay import OutboxRelay
from core.redis import circuit_for, create_redis
from core.settings import Settings, get_settings
from core.stripe_webhook import StripeWebhookEndpoint
from core.tracing import configure_tracing
from core.unavailable_http import UnavailableMiddleware
from schema.build import build_schema
from services.accounts.partners import find_live_api_key
from services.accounts.session_check import SessionCheck
from services.payments.stripe_gateway import create_payment_gateway
from services.pricing.model_serving import watch_active_model

log = logging.getLogger("autobroker.http")
REQUEST_ID_HEADER = "x-request-id"
MAX_REQUEST_ID_LENGTH = 64
UNTRACED_PATHS = "/health/live,/health/ready,/metrics"
READY_CHECK_SECONDS = 2.0


@dataclass(slots=True)
class Resources:
    database: Database
    redis: Redis


class RequestIdMiddleware:
    """Gives each request an id (the client's X-Request-ID if sane), logs its outcome."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        request_id = _client_request_id(scope) or uuid.uuid4().hex
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        status = 0

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [
                    *message["headers"],
                    (REQUEST_ID_HEADER.encode(), request_id.encode()),
                ]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            if scope["type"] == "http":
                log.info(
                    "%s %s %s",
                    scope["method"],
                    scope["path"],
                    status,
                    extra={
                        "status": status,
                        "ms": round((time.perf_counter() - started) * 1000, 2),
                    },
                )
                # No response started: the error middleware outside this one answers 500.
                metrics.record_http(
                    scope["method"],
                    _route_template(scope),
                    status or 500,
                    time.perf_counter() - started,
                )
            request_id_var.reset(token)


def _route_template(scope: Scope) -> str:
    """The matched route's path template (a bounded metrics label), or `unmatched`."""
    path = getattr(scope.get("route"), "path", None)
    return path if isinstance(path, str) and path else "unmatched"


def _client_request_id(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == REQUEST_ID_HEADER.encode():
            text: str = bytes(value).decode("latin-1")
            if 0 < len(text) <= MAX_REQUEST_ID_LENGTH and all(
                ch.isalnum() or ch in "-_." for ch in text
            ):
                return text
    return None


def create_app(settings: Settings | None = None) -> Starlette:
    """The application, its resources opened and closed by the lifespan."""
    settings = settings or get_settings()
    tracing = configure_tracing("autobroker-api")  # before the engine: SQL spans
    database = Database(create_engine(settings))
    if settings.redis_url is None:
        raise ValueError("REDIS_URL is not set and no embedded server was started")
    redis = create_redis(settings.redis_url)
    resources = Resources(database=database, redis=redis)
    # One Redis subscription per process for live order events (subscriptions).
    order_events = OrderEventsHub(redis)
    # Order events whose publication failed are published again from PostgreSQL.
    relay = OutboxRelay(database.engine, redis, circuit_for(settings.redis_url))
    # Payments: the Stripe gateway, None without STRIPE_SECRET_KEY (services/payments).
    payments = create_payment_gateway(settings)
    # Vehicle photos' store (services/photos), None without S3_URL; opened at first use.
    photo_store = ObjectStore(settings) if settings.s3_url else None
    sessions = SessionCheck(
        database.engine, redis, cache_seconds=settings.session_cache_seconds
    )  # an access token's sign-in must be alive (services/accounts/session_check.py)
    authenticator = Authenticator(
        TokenCodec.from_settings(settings),
        partial(find_live_api_key, database.engine),
        sessions.alive,
    )
    view = GraphQLView(
        build_schema(settings),
        settings=settings,
        database=database,
        redis=redis,
        authenticator=authenticator,
        order_events=order_events,
        payments=payments,
        photo_store=photo_store,
    )
    # Made now, so that the first sign-in with an unknown e-mail is not slower than others.
    dummy_hash()

    async def metrics_endpoint(request: Request) -> Response:
        return Response(metrics.render(), media_type=metrics.CONTENT_TYPE)

    async def live(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    async def check(name: str, ping: Callable[[], Awaitable[object]]) -> str:
        try:
            await asyncio.wait_for(ping(), READY_CHECK_SECONDS)
        except Exception as error:  # noqa: BLE001 - any failure means unavailable
            log.warning("readiness check failed: %s", name, extra={"error": repr(error)})
            return "unavailable"
        return "ok"

    async def ready(request: Request) -> JSONResponse:
        """200 ok; 200 degraded (serving without Redis); 503 not ready (no database).
        Both checks run at once, each within READY_CHECK_SECONDS."""
        db_state, redis_state = await asyncio.gather(
            check("database", database.ping), check("redis", redis.ping)
        )
        metrics.record_degraded("database", degraded=db_state != "ok")
        checks = {"database": db_state, "redis": redis_state}
        if db_state != "ok":
            return JSONResponse({"status": "unavailable", "checks": checks}, status_code=503)
        status = "ok" if redis_state == "ok" else "degraded"
        return JSONResponse({"status": status, "checks": checks})

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        app.state.resources = resources
        await order_events.start()
        await relay.start()
        # Every replica follows the active valuation model (services/pricing/model_serving.py).
        model_watch = asyncio.create_task(
            watch_active_model(database.engine, settings.valuation_model_check_seconds),
            name="valuation-model-watch",
        )
        # Everything built at start (schema, modules, pools) lives as long as the process:
        # freezing it keeps the collector from walking it again on every full pass, which
        # the profile showed as multi-millisecond pauses under load.
        gc.collect()
        gc.freeze()
        try:
            # A stop signal ends the event streams at once (core/event_streams.py).
            with stop_streams_on_signals(view.open_streams):
                yield
        finally:
            # uvicorn has closed its WebSockets (1012) by now; any left get 1001.
            await view.open_sockets.close_all()
            await view.open_streams.close_all()
            await relay.stop()
            model_watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await model_watch
            await order_events.stop()
            if payments is not None:
                await payments.aclose()
            if photo_store is not None:
                await photo_store.close()
            await redis.aclose()
            await database.dispose()
            metrics.process_exiting()

    # Inside the request id, so that even an unexpected failure's answer carries it.
    middleware = [Middleware(RequestIdMiddleware), Middleware(ErrorBoundaryMiddleware)]
    if tracing:
        middleware.insert(0, Middleware(OpenTelemetryMiddleware, excluded_urls=UNTRACED_PATHS))
    cors = view.origin_policy.middleware()  # core/cors.py; the view checks WebSockets
    if cors is not None:
        middleware.append(cors)
    # Inside CORS (a browser can read the 503), outside everything that reaches a database.
    middleware.append(Middleware(UnavailableMiddleware))
    # Inside CORS, so that a 401 carries the CORS headers a browser needs to read it.
    middleware.append(
        Middleware(
            AuthenticationMiddleware,
            backend=ApiAuthenticationBackend(authenticator),
            on_error=unauthenticated_response,
        )
    )
    return Starlette(
        debug=False,
        routes=[
            Route("/graphql", view, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", view),
            Route("/health/live", live),
            Route("/health/ready", ready),
            # Beside /graphql in development only; production serves it on METRICS_PORT.
            *([Route("/metrics", metrics_endpoint)] if settings.metrics_on_api_port else []),
            Route(
                "/webhooks/stripe",
                StripeWebhookEndpoint(database.engine, payments, ArqJobQueue(redis)).handle,
                methods=["POST"],
            ),
            Route(
                "/gdpr/exports/{export_id}",
                ExportDownloadEndpoint(database.engine, settings).handle,
                methods=["GET"],
            ),
            Mount(GRAPHIQL_ASSETS_PATH, app=graphiql_assets_app(), name="graphiql-assets"),
        ],
        middleware=middleware,
        lifespan=lifespan,
    )
