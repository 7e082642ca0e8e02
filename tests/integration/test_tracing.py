"""OpenTelemetry, switched on by OTEL_TRACES_EXPORTER=console in a real server and worker:
one trace per request with the HTTP, GraphQL and SQL spans, one per job run, and no
password or document text in any span."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
from redis.asyncio import Redis

from core.job_queue import ArqJobQueue
from tests.conftest import ROOT, Servers
from tests.process_support import base_env, free_port, start_worker, terminate

QUERY = "query TracedCatalog { vehicles(first: 3) { edges { node { id dealer { name } } } } }"
PASSWORD = "traced-password-never-exported"
LOGIN = 'mutation { login(input: {email: "nobody@example.com", password: "%s"}) { accessToken } }'


def _spans(text: str) -> list[dict[str, Any]]:
    """The console exporter's output: JSON objects one after another."""
    decoder = json.JSONDecoder()
    spans, index = [], 0
    while (start := text.find("{", index)) != -1:
        try:
            span, index = decoder.raw_decode(text, start)
        except json.JSONDecodeError:
            index = start + 1
            continue
        if isinstance(span, dict) and "context" in span:
            spans.append(span)
    return spans


def _tracing_env(servers: Servers, database: str) -> dict[str, str]:
    return base_env(
        DATABASE_URL=database, REDIS_URL=servers.redis_url, ENVIRONMENT="test",
        OTEL_TRACES_EXPORTER="console", OTEL_SERVICE_NAME="autobroker-test",
        RATE_LIMIT_ANONYMOUS="[10000000, 1000000]",
    )  # fmt: skip


def test_a_request_is_one_trace_of_http_graphql_and_sql_spans(
    servers: Servers, database: str, tmp_path: Path
) -> None:
    port = free_port()
    out, err = tmp_path / "spans.out", tmp_path / "server.log"
    with out.open("wb") as stdout, err.open("wb") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "core.app:create_app", "--factory",
             "--host", "127.0.0.1", "--port", str(port)],
            cwd=ROOT, env=_tracing_env(servers, database), stdout=stdout, stderr=stderr,
        )  # fmt: skip
    base_url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if httpx.get(f"{base_url}/health/live", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        body = httpx.post(f"{base_url}/graphql", json={"query": QUERY}).json()
        assert "errors" not in body, body
        httpx.post(f"{base_url}/graphql", json={"query": LOGIN % PASSWORD})
        time.sleep(0.5)
    finally:
        status, _ = terminate(process)
    assert status in (0, -15)
    text = out.read_text()
    spans = _spans(text)
    operation = next(span for span in spans if span["name"] == "query TracedCatalog")
    trace_id = operation["context"]["trace_id"]
    in_trace = [span for span in spans if span["context"]["trace_id"] == trace_id]
    names = {span["name"] for span in in_trace}
    assert operation["attributes"]["graphql.operation.name"] == "TracedCatalog"
    assert any(span["kind"] == "SpanKind.SERVER" and "POST" in span["name"] for span in in_trace), (
        names
    )
    sql = [span for span in in_trace if span["attributes"].get("db.system") == "postgresql"
           or span["attributes"].get("db.system.name") == "postgresql"]  # fmt: skip
    assert len(sql) >= 2, names  # the page, and the batched dealers
    assert "GraphQL Resolving: vehicles" in names
    assert operation["resource"]["attributes"]["service.name"] == "autobroker-test"
    assert PASSWORD not in text
    assert "TracedCatalog {" not in text  # no document text
    assert not any(span["name"].startswith("GET /health") for span in spans)


async def test_a_job_run_is_a_trace_with_its_redis_spans(
    servers: Servers, database: str, redis: Redis, tmp_path: Path
) -> None:
    log = tmp_path / "worker.log"
    worker = start_worker(_tracing_env(servers, database), log)
    key = f"test:runs:{uuid.uuid4().hex}"
    try:
        assert await ArqJobQueue(redis).enqueue("record_run", key, 0.1, job_id=uuid.uuid4().hex)
        for _ in range(100):
            if await redis.llen(key):  # type: ignore[misc]
                break
            time.sleep(0.1)
        time.sleep(0.5)
    finally:
        terminate(worker)
    spans = _spans(log.read_text())
    job = next(span for span in spans if span["name"] == "job record_run")
    assert job["attributes"]["job.name"] == "record_run"
    children = [span for span in spans if span.get("parent_id") == job["context"]["span_id"]]
    assert any(span["name"] == "RPUSH" for span in children), [s["name"] for s in children]
