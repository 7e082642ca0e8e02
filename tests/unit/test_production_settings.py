"""Production's defaults: what shows the schema or multiplies a request's work is off
unless set explicitly; development keeps it on."""

from __future__ import annotations

import pytest

from core.settings import PRODUCTION_DEFAULTS, Settings


def test_production_turns_each_off_and_development_keeps_each_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in PRODUCTION_DEFAULTS:
        monkeypatch.delenv(name.upper(), raising=False)
    production = Settings(environment="production", _env_file=None)  # type: ignore[arg-type]
    development = Settings(environment="development", _env_file=None)  # type: ignore[arg-type]
    assert {name: getattr(production, name) for name in PRODUCTION_DEFAULTS} == {
        "graphiql": False,
        "introspection": False,
        "field_suggestions": False,
        "batching": False,
        "get_query_text": False,
    }
    assert all(getattr(development, name) is True for name in PRODUCTION_DEFAULTS)
    assert not production.metrics_on_api_port
    assert development.metrics_on_api_port
    assert not Settings(metrics_port=9100, _env_file=None).metrics_on_api_port


def test_a_value_set_in_the_environment_wins_in_production(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ENVIRONMENT", "production")
    monkeypatch.setenv("INTROSPECTION", "true")
    monkeypatch.setenv("BATCHING", "true")
    settings = Settings(_env_file=None)
    assert settings.introspection is True
    assert settings.batching is True
    assert settings.field_suggestions is False
    assert settings.forwarded_allow_ips == ""
