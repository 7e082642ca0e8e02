"""Settings: validated at start, unsafe defaults refused outside development."""

from __future__ import annotations

import subprocess
import sys

import pytest
from cryptography.fernet import Fernet
from pydantic import SecretStr, ValidationError

from core.settings import Environment, Settings, UnsafeSettingsError
from tests.conftest import ROOT


@pytest.fixture(autouse=True)
def _no_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    # The suite itself may run with DATABASE_URL/REDIS_URL set; these tests read none.
    for name in (
        "DATABASE_URL",
        "REDIS_URL",
        "ENVIRONMENT",
        "JWT_SECRET",
        "DEBUG",
        "STRIPE_SECRET_KEY",
        "STRIPE_WEBHOOK_SECRET",
        "STRIPE_API_BASE",
        "S3_URL",
        "S3_ACCESS_KEY_ID",
        "S3_SECRET_ACCESS_KEY",
    ):
        monkeypatch.delenv(name, raising=False)


def _settings(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def test_plain_postgres_urls_get_the_asyncpg_driver() -> None:
    settings = _settings(database_url="postgresql://u@h:5432/db")
    assert settings.database_url == "postgresql+asyncpg://u@h:5432/db"


@pytest.mark.parametrize(
    ("values", "name"),
    [
        ({"database_url": "mysql://u@h/db"}, "database_url"),
        ({"redis_url": "http://h:6379"}, "redis_url"),
        ({"log_level": "LOUD"}, "log_level"),
        ({"db_pool_size": 0}, "db_pool_size"),
        ({"field_encryption_keys": ["not-a-fernet-key"]}, "field_encryption_keys"),
        ({"audit_retention_schedule": "25:00"}, "audit_retention_schedule"),
    ],
)
def test_invalid_settings_are_refused_naming_them(values: dict[str, object], name: str) -> None:
    with pytest.raises(ValidationError) as raised:
        _settings(**values)
    assert raised.value.errors()[0]["loc"] == (name,)


def test_production_refuses_development_defaults() -> None:
    production = _settings(environment=Environment.PRODUCTION)
    with pytest.raises(UnsafeSettingsError, match="DATABASE_URL"):
        production.check_production()
    with_urls = _settings(
        environment=Environment.PRODUCTION,
        database_url="postgresql://u@h/db",
        redis_url="redis://h:6379/0",
    )
    with pytest.raises(UnsafeSettingsError, match="JWT_SECRET"):
        with_urls.check_production()
    with_jwt = with_urls.model_copy(update={"jwt_secret": SecretStr("x" * 48)})
    with pytest.raises(UnsafeSettingsError, match="STRIPE_SECRET_KEY"):
        with_jwt.check_production()
    with_key = with_jwt.model_copy(update={"stripe_secret_key": SecretStr("sk_live_x")})
    with pytest.raises(UnsafeSettingsError, match="STRIPE_WEBHOOK_SECRET"):
        with_key.check_production()
    with_secrets = with_key.model_copy(update={"stripe_webhook_secret": SecretStr("whsec_x")})
    with pytest.raises(UnsafeSettingsError, match="S3_URL"):
        with_secrets.check_production()
    with_store = with_secrets.model_copy(update={"s3_url": "https://s3.eu-central-1.amazonaws.com"})
    with pytest.raises(UnsafeSettingsError, match="S3_ACCESS_KEY_ID"):
        with_store.check_production()
    with_hook = with_store.model_copy(
        update={"s3_access_key_id": "AKIAEXAMPLE", "s3_secret_access_key": SecretStr("x" * 40)}
    )
    with pytest.raises(UnsafeSettingsError, match="FIELD_ENCRYPTION_KEYS"):
        with_hook.check_production()
    own_key = [SecretStr(Fernet.generate_key().decode())]
    with_fernet = with_hook.model_copy(update={"field_encryption_keys": own_key})
    with pytest.raises(UnsafeSettingsError, match="PERSONAL_DATA_KEY"):
        with_fernet.check_production()
    safe = with_fernet.model_copy(update={"personal_data_key": SecretStr("p" * 40)})
    safe.check_production()
    with pytest.raises(UnsafeSettingsError, match="STRIPE_API_BASE"):
        safe.model_copy(update={"stripe_api_base": "http://127.0.0.1:12111"}).check_production()


def test_debug_is_refused_in_production() -> None:
    with pytest.raises(ValidationError, match="DEBUG"):
        _settings(environment=Environment.PRODUCTION, debug=True)


def test_serve_refuses_to_start_with_one_line_naming_the_setting() -> None:
    env = {"PATH": "/usr/bin:/bin", "ENVIRONMENT": "production", "HOME": "/tmp"}
    result = subprocess.run(
        [sys.executable, "-m", "core.cli", "serve"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert lines == ["autobroker: refusing to start: DATABASE_URL: required by `serve`"]


def test_a_malformed_setting_stops_the_command_with_one_line() -> None:
    env = {"PATH": "/usr/bin:/bin", "DATABASE_URL": "mysql://nope", "HOME": "/tmp"}
    result = subprocess.run(
        [sys.executable, "-m", "core.cli", "migrate"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 1
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("autobroker: invalid setting DATABASE_URL:")
