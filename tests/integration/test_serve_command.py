"""`autobroker serve` and `autobroker worker` as an operator meets them: a missing, invalid
or unsafe setting stops them with one line naming it (never a secret's value), and
`serve --workers 2` serves one set of metrics for both of its processes."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from graphql import get_introspection_query

from tests.api.test_metrics import value
from tests.conftest import Servers
from tests.process_support import (
    JWT_SECRET,
    SECRETS,
    base_env,
    free_port,
    production_env,
    run_cli,
    start_serve,
    terminate,
)

PASSWORD = "s3cret-db-password-91"


def _only_line(result: object) -> str:
    lines = [line for line in result.stderr.splitlines() if line.strip()]  # type: ignore[attr-defined]
    assert result.returncode == 1, (result.returncode, result.stderr)  # type: ignore[attr-defined]
    assert len(lines) == 1, result.stderr  # type: ignore[attr-defined]
    assert result.stdout == ""  # type: ignore[attr-defined]
    return lines[0]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"DATABASE_URL": ""}, "autobroker: refusing to start: DATABASE_URL: required by `serve`"),
        ({"REDIS_URL": ""}, "autobroker: refusing to start: REDIS_URL: required by `serve`"),
        (
            {"JWT_SECRET": None},
            "autobroker: refusing to start: JWT_SECRET: set a random secret of at least 32 characters",
        ),
        (
            {"JWT_SECRET": "short-secret"},
            "autobroker: refusing to start: JWT_SECRET: set a random secret of at least 32 characters",
        ),
        (
            {"STRIPE_WEBHOOK_SECRET": None},
            "autobroker: refusing to start: STRIPE_WEBHOOK_SECRET: required by `serve` (webhooks)",
        ),
        (
            {"DB_POOL_SIZE": "lots"},
            "autobroker: invalid setting DB_POOL_SIZE: Input should be a valid integer, unable to parse string as an integer",
        ),
        (
            {"GRACEFUL_SHUTDOWN_SECONDS": "-1"},
            "autobroker: invalid setting GRACEFUL_SHUTDOWN_SECONDS: Input should be greater than or equal to 0",
        ),
        (
            {"RATE_LIMIT_USER": "[20000,"},
            "autobroker: invalid setting RATE_LIMIT_USER: not valid JSON",
        ),
        (
            {"DATABASE_URL": f"mysql://app:{PASSWORD}@db/app"},
            "autobroker: invalid setting DATABASE_URL: Value error, DATABASE_URL must be a postgresql:// or postgresql+asyncpg:// URL",
        ),
        (
            {"DEBUG": "true"},
            "autobroker: invalid setting settings: Value error, DEBUG must be off in production: it exposes error details",
        ),
        (
            {"OTEL_TRACES_EXPORTER": "zipkin"},
            "autobroker: refusing to start: OTEL_TRACES_EXPORTER: unknown exporter 'zipkin' (otlp, console or none)",
        ),
        (
            {"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"},
            "autobroker: refusing to start: OTEL_EXPORTER_OTLP_PROTOCOL: only http/protobuf is supported",
        ),
    ],
)
def test_serve_refuses_a_missing_invalid_or_unsafe_setting_in_one_line(
    servers: Servers, change: dict[str, str | None], expected: str
) -> None:
    env = production_env(servers.database_url, servers.redis_url)
    for key, new in change.items():
        if new is None:
            env.pop(key)
        else:
            env[key] = new
    line = _only_line(run_cli("serve", "--port", "1", env=env))
    assert line == expected
    for secret in (*SECRETS, PASSWORD):
        assert secret not in line


def test_serve_refuses_an_unreachable_database_without_showing_its_password(
    servers: Servers,
) -> None:
    url = f"postgresql://app:{PASSWORD}@127.0.0.1:1/app"
    line = _only_line(run_cli("serve", env=production_env(url, servers.redis_url)))
    assert line.startswith("autobroker: refusing to start: cannot check the database (")
    assert PASSWORD not in line


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"REDIS_URL": None}, "autobroker: refusing to start: REDIS_URL: required by `worker`"),
        (
            {"DATABASE_URL": None},
            "autobroker: refusing to start: DATABASE_URL: required by `worker`",
        ),
        (
            {"WORKER_SHUTDOWN_SECONDS": "soon"},
            "autobroker: invalid setting WORKER_SHUTDOWN_SECONDS: Input should be a valid integer, unable to parse string as an integer",
        ),
        (
            {"WORKER_METRICS_PORT": "70000"},
            "autobroker: invalid setting WORKER_METRICS_PORT: Input should be less than or equal to 65535",
        ),
        (
            {"OTEL_TRACES_EXPORTER": "jaeger"},
            "autobroker: refusing to start: OTEL_TRACES_EXPORTER: unknown exporter 'jaeger' (otlp, console or none)",
        ),
    ],
)
def test_worker_refuses_a_missing_or_invalid_setting_in_one_line(
    servers: Servers, change: dict[str, str | None], expected: str
) -> None:
    env = base_env(DATABASE_URL=servers.database_url, REDIS_URL=servers.redis_url)
    for key, new in change.items():
        if new is None:
            env.pop(key)
        else:
            env[key] = new
    assert _only_line(run_cli("worker", env=env)) == expected


def _introspect(base_url: str) -> int:
    query = get_introspection_query()
    return httpx.post(f"{base_url}/graphql", json={"query": query}, timeout=30).status_code


def test_serve_with_two_workers_serves_metrics_of_both(
    servers: Servers, production_database: str, tmp_path: Path
) -> None:
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    (metrics_dir / "counter_1.db").write_bytes(b"stale samples of an earlier run")
    metrics_port = free_port()
    env = production_env(
        production_database,
        servers.redis_url,
        PROMETHEUS_MULTIPROC_DIR=str(metrics_dir),
        METRICS_PORT=str(metrics_port),
        INTROSPECTION="true",  # a heavy query for both processes to share
    )
    process, base_url = start_serve(env, tmp_path / "serve.log", "--workers", "2")
    try:
        assert not (metrics_dir / "counter_1.db").exists()  # cleared at start
        # Introspection, 40 at once on connections of their own: both processes take some.
        with ThreadPoolExecutor(max_workers=8) as pool:
            statuses = list(pool.map(lambda _: _introspect(base_url), range(40)))
        assert statuses == [200] * 40
        # Not beside /graphql in production: on METRICS_PORT, served by the parent process.
        assert httpx.get(f"{base_url}/metrics", timeout=5).status_code == 404
        metrics_url = f"http://127.0.0.1:{metrics_port}/metrics"
        scrapes = [httpx.get(metrics_url, timeout=5).text for _ in range(4)]
        labels = {"method": "POST", "route": "/graphql", "status": "2xx"}
        assert {value(text, "autobroker_http_requests_total", **labels) for text in scrapes} == {40}
        pids = {re.sub(r"\D", "", path.stem) for path in metrics_dir.glob("counter_*.db")}
        assert len(pids) >= 2, pids  # both processes served (and counted) requests
        for text in scrapes:
            for secret in (*SECRETS, JWT_SECRET):
                assert secret not in text
    finally:
        status, seconds = terminate(process)
    assert status == 0, (tmp_path / "serve.log").read_text()[-3000:]
    assert seconds < 15
    log = (tmp_path / "serve.log").read_text()
    for secret in SECRETS:
        assert secret not in log
