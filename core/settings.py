"""Validated configuration from the environment and `.env`.

Every setting has a development default so that `autobroker dev` needs nothing;
`Settings.check_production()` refuses those defaults where they would be unsafe.
"""

from __future__ import annotations

import enum
from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_JWT_SECRET = "development-only-jwt-secret-change-me"  # noqa: S105 - refused in production


class Environment(enum.StrEnum):
    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


class UnsafeSettingsError(ValueError):
    """A setting is missing or keeps a development default outside development."""

    def __init__(self, setting: str, reason: str) -> None:
        super().__init__(f"{setting}: {reason}")
        self.setting = setting
        self.reason = reason


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
    stripe_secret_key: SecretStr | None = None
    stripe_webhook_secret: SecretStr | None = None

    db_pool_size: int = Field(default=10, ge=1, le=200)
    db_max_overflow: int = Field(default=10, ge=0, le=200)
    db_echo: bool = False

    cors_origins: list[str] = Field(default_factory=list)
    graphiql: bool = True
    introspection: bool = True
    max_page_size: int = Field(default=100, ge=1, le=1000)
    log_level: str = "INFO"
    log_json: bool = True

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


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
