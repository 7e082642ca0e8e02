"""Which browser origins may call the API: pages on this machine in development,
CORS_ORIGINS everywhere, nothing else."""

from __future__ import annotations

import pytest

from core.cors import OriginPolicy
from core.settings import Environment, Settings

LOCAL = [
    "http://localhost:3000",
    "http://localhost",
    "http://127.0.0.1:5173",
    "http://[::1]:8080",
    "https://localhost:3001",
    "HTTP://LOCALHOST:3000",
]
FOREIGN = [
    "http://localhost.example.com",
    "http://127.0.0.1.nip.io:3000",
    "http://localhost:3000.example.com",
    "http://example.com",
    "https://shop.example:443",
    "null",
    "file://",
    "ws://localhost:3000",
    "http://localhost:123456",
]


def _policy(environment: Environment, *origins: str) -> OriginPolicy:
    settings = Settings(environment=environment, cors_origins=list(origins), _env_file=None)
    return OriginPolicy.from_settings(settings)


@pytest.mark.parametrize("environment", [Environment.DEVELOPMENT, Environment.TEST])
def test_development_allows_pages_on_this_machine_and_the_configured_ones(
    environment: Environment,
) -> None:
    policy = _policy(environment, "https://shop.example/")
    assert [origin for origin in LOCAL if not policy.allows(origin)] == []
    assert [origin for origin in FOREIGN if policy.allows(origin)] == []
    assert policy.allows("https://shop.example")
    assert policy.middleware() is not None


def test_production_allows_only_the_configured_origins() -> None:
    policy = _policy(Environment.PRODUCTION, "https://shop.example")
    assert policy.allows("https://shop.example")
    assert policy.allows("https://SHOP.example/")
    assert [origin for origin in LOCAL + FOREIGN if policy.allows(origin)] == []


def test_production_without_origins_has_no_cors_at_all() -> None:
    policy = _policy(Environment.PRODUCTION)
    assert policy.middleware() is None
    assert not policy.allows("http://localhost:3000")
