"""Validated configuration from the environment and `.env`.

Every setting has a development default so that `autobroker dev` needs nothing;
`Settings.check_production()` refuses those defaults where they would be unsafe.
"""

from __future__ import annotations

import base64
import binascii
import enum
from functools import lru_cache
from ipaddress import IPv4Network, IPv6Network
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_JWT_SECRET = "development-only-jwt-secret-change-me"  # noqa: S105 - refused in production
# Development-only personal-data keys: both refused in production.
DEV_FIELD_ENCRYPTION_KEY = "fp30TfaqFV1b6jifitBv0iOhH_JrvWOFkqWn9J7pbOQ="
DEV_PERSONAL_DATA_KEY = "development-only-personal-data-key-change-me"


# A retention sweep's time: "HH:MM" once a day, "*:MM" every hour (UTC).
SCHEDULE_PATTERN = r"^(\*|[01][0-9]|2[0-3]):[0-5][0-9]$"


class Environment(enum.StrEnum):
    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


# The one default of a reservation hold: the setting's, and the services' when a caller
# names none (services/orders/transitions.py DEFAULT_RESERVATION_TTL).
DEFAULT_RESERVATION_MINUTES = 30


class UnsafeSettingsError(ValueError):
    """A setting is missing or keeps a development default outside development."""

    def __init__(self, setting: str, reason: str) -> None:
        super().__init__(f"{setting}: {reason}")
        self.setting = setting
        self.reason = reason


# Production's defaults where development's differ; a value set in the environment (or
# passed) wins. Each one shows the schema to strangers or multiplies a request's work.
PRODUCTION_DEFAULTS: dict[str, object] = {
    "graphiql": False,
    "introspection": False,
    "field_suggestions": False,
    "batching": False,
    "get_query_text": False,
}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False
    )

    environment: Environment = Environment.DEVELOPMENT
    debug: bool = False

    database_url: str | None = Field(
        default=None,
        description="postgresql+asyncpg://user:password@host:port/db; unset: embedded server",
    )
    redis_url: str | None = Field(
        default=None, description="redis://host:port/db; unset: embedded server"
    )
    data_dir: Path = Field(default=Path(".autobroker"), description="embedded servers' data")

    jwt_secret: SecretStr = SecretStr(DEV_JWT_SECRET)
    jwt_issuer: str = Field(default="autobroker", min_length=1, description="JWT `iss` claim")
    jwt_audience: str = Field(default="autobroker-api", min_length=1, description="JWT `aud` claim")
    access_token_ttl_seconds: int = Field(default=900, ge=30, le=3600)
    refresh_token_ttl_seconds: int = Field(default=30 * 24 * 3600, ge=300, le=90 * 24 * 3600)
    # How long a request may trust Redis that an access token's sign-in is alive
    # (services/accounts/session_check.py); 0 asks PostgreSQL on every request.
    session_cache_seconds: int = Field(default=10, ge=0, le=300)
    login_attempts_per_account: int = Field(default=10, ge=1, le=1000)
    login_attempts_per_client: int = Field(default=50, ge=1, le=10_000)
    login_throttle_window_seconds: int = Field(default=900, ge=1, le=24 * 3600)
    stripe_secret_key: SecretStr | None = None
    stripe_webhook_secret: SecretStr | None = None
    # Payments (services/payments): unset STRIPE_API_BASE means Stripe itself; `dev` and
    # the tests point it at the local emulator (core/stripe_emulator).
    stripe_api_base: str | None = Field(default=None, description="e.g. http://127.0.0.1:12111")
    stripe_timeout_seconds: float = Field(default=20.0, gt=0, le=120)
    stripe_max_network_retries: int = Field(default=2, ge=0, le=10)
    # Reconciliation asks Stripe about payments and refunds pending longer than this.
    payment_reconcile_after_seconds: int = Field(default=600, ge=0, le=7 * 24 * 3600)

    db_pool_size: int = Field(default=10, ge=1, le=200)
    db_max_overflow: int = Field(default=10, ge=0, le=200)
    db_echo: bool = False
    # Nothing waits on PostgreSQL unbounded (README "When a dependency falters"): a new
    # connection, a free pooled one, and each statement (server-side statement_timeout,
    # and the same deadline on the client, which also holds when the server is stalled).
    db_connect_timeout_seconds: float = Field(default=5.0, gt=0, le=120)
    db_pool_timeout_seconds: float = Field(default=5.0, gt=0, le=120)
    db_statement_timeout_seconds: float = Field(default=30.0, gt=0, le=3600)

    cors_origins: list[str] = Field(default_factory=list)
    # What shows the schema and what multiplies a request's work. Production turns each
    # off unless it is set explicitly (PRODUCTION_DEFAULTS below); development keeps it.
    graphiql: bool = True
    introspection: bool = True  # off: __schema, __type and _service are refused
    field_suggestions: bool = True  # "Did you mean ...?" in error messages
    batching: bool = True  # a JSON array of operations in one POST
    get_query_text: bool = True  # off: GET runs persisted queries (hash or documentId) only
    # Serve the schema as an Apollo Federation v2 subgraph (_service, _entities), for a
    # router in front of the API; off (the default), the schema frontends and their code
    # generators see has no trace of Federation.
    federation: bool = False
    max_page_size: int = Field(default=100, ge=1, le=1000)

    # Public catalog answers kept in Redis (core/response_cache.py), dropped when a
    # vehicle, a price or a dealer they show changes; the TTL bounds what an invalidation
    # lost to a Redis failure can leave behind.
    response_cache: bool = True
    response_cache_seconds: int = Field(default=300, ge=1, le=24 * 3600)

    # Registered (trusted) operations only, for every client but staff (and GraphiQL in
    # development); partners are always held to their own registered operations.
    require_registered_operations: bool = False

    # How long a reservation holds the vehicle before the expiry job releases it.
    reservation_minutes: int = Field(default=DEFAULT_RESERVATION_MINUTES, ge=1, le=24 * 60)

    # How long an Idempotency-Key's first answer is kept for replays (core/idempotency.py);
    # the hourly sweep deletes older records.
    idempotency_retention_seconds: int = Field(default=24 * 3600, ge=60, le=30 * 24 * 3600)

    # Feed ingestion (services/feeds): files named over GraphQL must be in this directory
    # (unset: <DATA_DIR>/feeds); a worker holds a run under a lease it renews every second.
    feed_directory: Path | None = Field(default=None, description="feed files for the API")
    feed_lease_seconds: int = Field(default=60, ge=5, le=3600)
    # Feed URLs must lead to public internet addresses (services/feeds/addresses.py); these
    # networks are allowed too, e.g. ["10.20.0.0/16"] for a feed server on the LAN.
    feed_allowed_networks: list[IPv4Network | IPv6Network] = Field(default_factory=list)
    # Valuation model: how often a replica looks for a newly activated model; a feed run
    # that created or updated this many vehicles queues a retraining.
    valuation_model_check_seconds: float = Field(default=30.0, gt=0, le=3600)
    valuation_retrain_after_feed_rows: int = Field(default=5000, ge=1)

    # Vehicle photos (services/photos) on an S3-compatible store: AWS S3, MinIO,
    # SeaweedFS alike. Unset S3_URL: `dev` and the tests run an embedded SeaweedFS.
    s3_url: str | None = Field(default=None, description="S3 endpoint; unset: embedded")
    s3_bucket: str = Field(default="photos", min_length=3, max_length=63)
    s3_region: str = Field(default="us-east-1", min_length=1)
    s3_access_key_id: str | None = None
    s3_secret_access_key: SecretStr | None = None
    s3_addressing_style: Literal["path", "virtual"] = "path"
    # The base of the URLs the schema returns (a CDN in front of the bucket); unset:
    # the store's own URL of the bucket.
    photo_public_url: str | None = None
    photo_max_bytes: int = Field(default=20_000_000, ge=1024, le=200_000_000)
    photo_max_pixels: int = Field(default=50_000_000, ge=10_000, le=500_000_000)
    photo_max_side: int = Field(default=12_000, ge=100, le=65_535)
    photo_upload_seconds: int = Field(default=900, ge=10, le=24 * 3600)
    photo_widths: list[int] = Field(default_factory=lambda: [320, 640, 1280, 1920])
    photo_max_per_vehicle: int = Field(default=40, ge=1, le=500)
    photo_fetch_timeout_seconds: float = Field(default=15.0, gt=0, le=300)
    # Personal data (README "Personal data"): Fernet keys for fields at rest, the first
    # encrypts and every one decrypts (rotation); a secret for keyed hashes of e-mails
    # and for signing export download links.
    field_encryption_keys: list[SecretStr] = Field(
        default_factory=lambda: [SecretStr(DEV_FIELD_ENCRYPTION_KEY)], min_length=1
    )
    personal_data_key: SecretStr = SecretStr(DEV_PERSONAL_DATA_KEY)

    @field_validator("field_encryption_keys")
    @classmethod
    def _fernet_keys(cls, keys: list[SecretStr]) -> list[SecretStr]:
        for key in keys:
            try:
                raw = base64.urlsafe_b64decode(key.get_secret_value().encode())
            except (ValueError, binascii.Error):
                raw = b""
            if len(raw) != 32:
                raise ValueError("each key must be a Fernet key (`autobroker audit new-key`)")
        return keys

    # How long a finished GDPR export may be downloaded; the file is removed after.
    export_link_ttl_seconds: int = Field(default=24 * 3600, ge=60, le=30 * 24 * 3600)
    # Retention (jobs/retention.py): how long each kind of record is kept, and when each
    # sweep runs ("HH:MM" daily or "*:MM" hourly, UTC).
    audit_retention_days: int = Field(default=365, ge=30, le=100 * 365)
    session_retention_days: int = Field(default=30, ge=1, le=3650)
    quote_retention_days: int = Field(default=30, ge=1, le=3650)
    audit_retention_schedule: str = Field(default="04:10", pattern=SCHEDULE_PATTERN)
    idempotency_retention_schedule: str = Field(default="*:23", pattern=SCHEDULE_PATTERN)
    quote_retention_schedule: str = Field(default="04:20", pattern=SCHEDULE_PATTERN)
    session_retention_schedule: str = Field(default="04:30", pattern=SCHEDULE_PATTERN)
    export_retention_schedule: str = Field(default="*:05", pattern=SCHEDULE_PATTERN)
    # A sold or withdrawn vehicle's photos stay this long for its orders (none in flight).
    photo_retention_days: int = Field(default=365, ge=1, le=100 * 365)
    photo_retention_schedule: str = Field(default="04:40", pattern=SCHEDULE_PATTERN)

    # WebSocket subscriptions (core/graphql_ws.py).
    ws_connection_init_timeout_seconds: float = Field(default=10.0, gt=0, le=300)
    ws_keep_alive_seconds: float = Field(default=15.0, gt=0, le=300)  # legacy graphql-ws `ka`
    ws_max_subscriptions_per_connection: int = Field(default=20, ge=1, le=1000)
    # Server-Sent Events (core/graphql_sse.py): a `: ping` comment this often keeps
    # proxies from closing an idle stream.
    sse_keep_alive_seconds: float = Field(default=15.0, gt=0, le=300)

    # Protection (schema/limits.py, schema/throttle.py, core/graphql_http.py).
    max_query_cost: int = Field(default=5000, ge=1)
    max_query_depth: int = Field(default=15, ge=1, le=100)  # introspection nests 15 deep
    max_query_aliases: int = Field(default=30, ge=0)
    max_query_fields: int = Field(default=600, ge=1)
    max_query_directives: int = Field(default=50, ge=0)
    max_query_tokens: int = Field(default=3000, ge=10)
    max_query_characters: int = Field(default=50_000, ge=1000)
    # One response name selected more often than this in one selection set (graphql-core's
    # overlap check compares every pair) is refused before validation.
    max_query_same_field: int = Field(default=50, ge=1)
    # Items in any list argument (Federation's representations, ids, a filter's values).
    max_input_list_length: int = Field(default=1000, ge=1)
    max_batch_operations: int = Field(default=10, ge=1, le=100)
    max_body_bytes: int = Field(default=1_000_000, ge=1024)
    # Nesting of a request's JSON (core/request_json.py); orjson re-encodes up to 254.
    max_json_depth: int = Field(default=64, ge=4, le=200)
    # Cost budgets as (capacity, points restored a second), per kind of caller; a
    # partner's own budget may be set by partner id in RATE_LIMIT_PARTNERS.
    rate_limit_anonymous: tuple[int, int] = (10_000, 500)
    rate_limit_user: tuple[int, int] = (20_000, 1_000)
    rate_limit_admin: tuple[int, int] = (100_000, 5_000)
    rate_limit_partner: tuple[int, int] = (50_000, 2_500)
    rate_limit_partners: dict[int, tuple[int, int]] = Field(default_factory=dict)
    log_level: str = "INFO"
    log_json: bool = True

    # Operations (core/metrics.py, core/cli.py serve and worker).
    metrics_enabled: bool = Field(default=True, description="serve GET /metrics")
    # On SIGTERM `serve` stops accepting and gives in-flight requests this long to finish.
    graceful_shutdown_seconds: int = Field(default=20, ge=0, le=600)
    # On SIGTERM the worker lets running jobs finish this long, then hands them back.
    worker_shutdown_seconds: int = Field(default=25, ge=0, le=3600)
    # `autobroker worker` serves its own /metrics on this port (unset: none).
    worker_metrics_port: int | None = Field(default=None, ge=1, le=65535)
    # The API's /metrics on a listener of its own, never on the public port; unset, only
    # development serves /metrics beside /graphql (production then serves none).
    metrics_port: int | None = Field(default=None, ge=1, le=65535)
    # Proxies whose X-Forwarded-For / X-Forwarded-Proto are believed (uvicorn's
    # forwarded_allow_ips: addresses or networks, comma-separated, or "*"); empty, the
    # client address is the socket's peer, whatever a header says.
    forwarded_allow_ips: str = ""

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, value: str | None) -> str | None:
        """Accept plain postgres URLs and pin the asyncpg driver."""
        if value is None or value == "":
            return None
        for prefix in ("postgresql://", "postgres://"):
            if value.startswith(prefix):
                return "postgresql+asyncpg://" + value.removeprefix(prefix)
        if not value.startswith("postgresql+asyncpg://"):
            raise ValueError("DATABASE_URL must be a postgresql:// or postgresql+asyncpg:// URL")
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis_scheme(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("REDIS_URL must be a redis://, rediss:// or unix:// URL")
        return value

    @field_validator("s3_url", "photo_public_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return value.rstrip("/")

    @field_validator("stripe_api_base")
    @classmethod
    def _stripe_api_base(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError("STRIPE_API_BASE must be an http:// or https:// URL")
        return value.rstrip("/")

    @field_validator("log_level")
    @classmethod
    def _log_level(cls, value: str) -> str:
        level = value.upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError("LOG_LEVEL must be DEBUG, INFO, WARNING, ERROR or CRITICAL")
        return level

    @model_validator(mode="after")
    def _no_debug_in_production(self) -> Settings:
        if self.environment is Environment.PRODUCTION and self.debug:
            raise ValueError("DEBUG must be off in production: it exposes error details")
        return self

    @model_validator(mode="after")
    def _production_defaults(self) -> Settings:
        if self.environment is Environment.PRODUCTION:
            for name, value in PRODUCTION_DEFAULTS.items():
                if name not in self.model_fields_set:
                    setattr(self, name, value)
        return self

    @property
    def metrics_on_api_port(self) -> bool:
        """Is /metrics served beside /graphql? Only in development, without METRICS_PORT."""
        return self.metrics_enabled and self.metrics_port is None and self.is_development

    @property
    def feeds_path(self) -> Path:
        """Where the API lets staff name feed files."""
        return self.feed_directory or self.data_dir / "feeds"

    @property
    def is_development(self) -> bool:
        return self.environment is not Environment.PRODUCTION

    def check_production(self) -> None:
        """Raise `UnsafeSettingsError` for the first setting unfit for production."""
        if not self.database_url:
            raise UnsafeSettingsError("DATABASE_URL", "required by `serve`")
        if not self.redis_url:
            raise UnsafeSettingsError("REDIS_URL", "required by `serve`")
        secret = self.jwt_secret.get_secret_value()
        if secret == DEV_JWT_SECRET or len(secret) < 32:
            raise UnsafeSettingsError("JWT_SECRET", "set a random secret of at least 32 characters")
        if self.stripe_secret_key is None:
            raise UnsafeSettingsError("STRIPE_SECRET_KEY", "required by `serve` (payments)")
        if self.stripe_webhook_secret is None:
            raise UnsafeSettingsError("STRIPE_WEBHOOK_SECRET", "required by `serve` (webhooks)")
        if self.stripe_api_base is not None and not self.stripe_api_base.startswith("https://"):
            raise UnsafeSettingsError("STRIPE_API_BASE", "production talks to Stripe over https")
        if not self.s3_url:
            raise UnsafeSettingsError("S3_URL", "required by `serve` (vehicle photos)")
        if self.s3_access_key_id is None or self.s3_secret_access_key is None:
            raise UnsafeSettingsError("S3_ACCESS_KEY_ID", "required with S3_URL by `serve`")
        keys = [key.get_secret_value() for key in self.field_encryption_keys]
        if DEV_FIELD_ENCRYPTION_KEY in keys:
            raise UnsafeSettingsError(
                "FIELD_ENCRYPTION_KEYS", "set your own Fernet keys (`autobroker audit new-key`)"
            )
        personal = self.personal_data_key.get_secret_value()
        if personal == DEV_PERSONAL_DATA_KEY or len(personal) < 32:
            raise UnsafeSettingsError(
                "PERSONAL_DATA_KEY", "set a random secret of at least 32 characters"
            )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
