"""`autobroker serve` in production, as a real process, seen from outside: graphql-cop's
checks flag nothing, and the client address the rate limit and the sign-in throttle
count is the socket's peer unless the peer is a configured proxy."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from redis import Redis

from core.redis_keys import AUTH_CLIENT_THROTTLE_PREFIX, RATE_LIMIT_PREFIX
from tests import graphql_cop
from tests.conftest import Servers
from tests.process_support import free_port, production_env, start_serve, terminate

LOGIN = """mutation SignIn($input: LoginInput!) {
  login(input: $input) { accessToken userErrors { field code } } }"""
ATTEMPTS_PER_CLIENT = 3


def _serve(servers: Servers, database: str, log: Path, **extra: str) -> Iterator[str]:
    env = production_env(database, servers.redis_url, METRICS_PORT=str(free_port()), **extra)
    env["LOGIN_ATTEMPTS_PER_CLIENT"] = str(ATTEMPTS_PER_CLIENT)
    process, base_url = start_serve(env, log)
    try:
        yield base_url
    finally:
        status, _ = terminate(process)
        assert status == 0, log.read_text()[-3000:]


@pytest.fixture(scope="module")
def production_api(
    servers: Servers, production_database: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """serve with production's defaults: no proxy is trusted."""
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    yield from _serve(servers, production_database, log)


@pytest.fixture
def behind_proxy(servers: Servers, production_database: str, tmp_path: Path) -> Iterator[str]:
    """serve behind a proxy on this machine: FORWARDED_ALLOW_IPS=127.0.0.1."""
    yield from _serve(servers, production_database, tmp_path / "serve.log",
                      FORWARDED_ALLOW_IPS="127.0.0.1")  # fmt: skip


@pytest.fixture
def redis(servers: Servers) -> Iterator[Redis]:
    """The shared Redis, with no bucket or throttle counted yet for any address."""
    client = Redis.from_url(servers.redis_url)
    for prefix in (f"{RATE_LIMIT_PREFIX}ip:", AUTH_CLIENT_THROTTLE_PREFIX):
        for key in client.scan_iter(match=f"{prefix}*"):
            client.delete(key)
    yield client
    client.close()


def _addresses(redis: Redis, prefix: str) -> set[str]:
    return {key.decode().removeprefix(prefix) for key in redis.scan_iter(match=f"{prefix}*")}


def _sign_in(base_url: str, forwarded_for: str) -> httpx.Response:
    variables = {"input": {"email": f"{uuid.uuid4().hex}@example.com", "password": "wrong-one"}}
    return httpx.post(f"{base_url}/graphql", json={"query": LOGIN, "variables": variables},
                      headers={"x-forwarded-for": forwarded_for}, timeout=10)  # fmt: skip


def _throttled(response: httpx.Response) -> bool:
    codes = [error["extensions"]["code"] for error in response.json().get("errors", ())]
    return "RATE_LIMITED" in codes


def test_graphql_cop_flags_nothing_in_production(production_api: str) -> None:
    url = f"{production_api}/graphql"
    assert graphql_cop.is_graphql(url)  # the tool recognises the endpoint and audits it
    assert graphql_cop.audit(url) == []


def test_a_rotated_forwarded_for_does_not_change_the_address_counted(
    production_api: str, redis: Redis
) -> None:
    answers = [_sign_in(production_api, f"203.0.113.{n}") for n in range(1, 7)]
    assert [_throttled(answer) for answer in answers] == [False] * ATTEMPTS_PER_CLIENT + [True] * (
        6 - ATTEMPTS_PER_CLIENT
    )
    assert _addresses(redis, AUTH_CLIENT_THROTTLE_PREFIX) == {"127.0.0.1"}
    assert _addresses(redis, f"{RATE_LIMIT_PREFIX}ip:") == {"127.0.0.1"}


def test_a_configured_proxy_names_the_client(behind_proxy: str, redis: Redis) -> None:
    answers = [_sign_in(behind_proxy, f"203.0.113.{n}") for n in range(1, 7)]
    assert not any(_throttled(answer) for answer in answers)  # six clients, one try each
    repeated = [_sign_in(behind_proxy, "198.51.100.7") for _ in range(ATTEMPTS_PER_CLIENT + 1)]
    assert [_throttled(answer) for answer in repeated] == [False] * ATTEMPTS_PER_CLIENT + [True]
    expected = {f"203.0.113.{n}" for n in range(1, 7)} | {"198.51.100.7"}
    assert _addresses(redis, AUTH_CLIENT_THROTTLE_PREFIX) == expected
    assert _addresses(redis, f"{RATE_LIMIT_PREFIX}ip:") == expected
