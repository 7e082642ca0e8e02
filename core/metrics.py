"""Prometheus metrics: defined once here, recorded where things happen, served at /metrics.

Every label has a bounded set of values; no id, key, address or query text is ever one:

- `route` is the route's template (`/graphql`, `/health/ready`), `unmatched` otherwise;
  `method` one of the HTTP methods, `status` a class (`2xx` … `5xx`);
- `operation` is a GraphQL operation name that matches `OPERATION_NAME` and belongs to an
  operation that passed validation, for the first `MAX_OPERATION_NAMES` distinct names a
  process sees; later or malformed names count as `other`, unnamed operations as
  `anonymous`, and names of rejected documents only when already known;
- `type` is `query`, `mutation`, `subscription` or `unknown`; `outcome` of an operation
  `ok`, `error` (executed, with errors), `rejected` (refused before execution) or
  `cancelled` (the client went away: how a subscription usually ends);
- `code` is an error's `extensions.code` (the documented list), `OTHER` if malformed;
- `loader` a DataLoader class name, `job` an arq function name, `cache` a cache's name.

Several processes (`serve --workers N`): with PROMETHEUS_MULTIPROC_DIR set before
prometheus-client is imported, each process writes its samples to files there and
/metrics adds up every process's (gauges: the live processes'). `serve` sets it.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterable

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
    start_http_server,
)

MULTIPROC_DIR_ENV = "PROMETHEUS_MULTIPROC_DIR"
CONTENT_TYPE = CONTENT_TYPE_LATEST
OPERATION_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
MAX_OPERATION_NAMES = 100
_ERROR_CODE = re.compile(r"[A-Z][A-Z_]{0,39}")
_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})
_OPERATION_TYPES = frozenset({"query", "mutation", "subscription"})

HTTP_REQUESTS = Counter(
    "autobroker_http_requests_total",
    "HTTP requests by method, route template and status class.",
    ["method", "route", "status"],
)
HTTP_DURATION = Histogram(
    "autobroker_http_request_duration_seconds",
    "HTTP request latency by method and route template.",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
GRAPHQL_OPERATIONS = Counter(
    "autobroker_graphql_operations_total",
    "GraphQL operations by operation name, type and outcome (ok, error, rejected, cancelled).",
    ["operation", "type", "outcome"],
)
GRAPHQL_DURATION = Histogram(
    "autobroker_graphql_operation_duration_seconds",
    "GraphQL query and mutation latency by operation name and type.",
    ["operation", "type"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
GRAPHQL_ERRORS = Counter(
    "autobroker_graphql_errors_total",
    "GraphQL errors returned to clients, by extensions.code.",
    ["code"],
)
SQL_STATEMENTS = Histogram(
    "autobroker_graphql_sql_statements",
    "SQL statements one GraphQL query or mutation sent, by operation name.",
    ["operation"],
    buckets=(0, 1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144),
)
DATALOADER_BATCH_SIZE = Histogram(
    "autobroker_dataloader_batch_size",
    "Keys per DataLoader batch, by loader.",
    ["loader"],
    buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500, 1000),
)
WEBSOCKET_CONNECTIONS = Gauge(
    "autobroker_websocket_connections",
    "Open GraphQL WebSocket connections.",
    multiprocess_mode="livesum",
)
ACTIVE_SUBSCRIPTIONS = Gauge(
    "autobroker_graphql_subscriptions_active",
    "GraphQL subscriptions streaming now.",
    multiprocess_mode="livesum",
)
JOB_RUNS = Counter(
    "autobroker_job_runs_total",
    "Background job runs by job and outcome (success, retry, cancelled, failure).",
    ["job", "outcome"],
)
JOB_DURATION = Histogram(
    "autobroker_job_duration_seconds",
    "Background job run time by job and outcome.",
    ["job", "outcome"],
    buckets=(0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 120, 300),
)
CACHE_REQUESTS = Counter(
    "autobroker_cache_requests_total",
    "Cache look-ups by cache and result (hit, miss).",
    ["cache", "result"],
)
# Degradation (README "When a dependency falters"): whether the process is serving
# without a dependency, how often it fell back or reconnected, what is left to publish.
DEGRADED = Gauge(
    "autobroker_degraded",
    "1 while the process serves without the dependency (redis, database), else 0.",
    ["dependency"],
    multiprocess_mode="livemax",
)
FALLBACK_LIMITER = Counter(
    "autobroker_fallback_limiter_total",
    "Checks answered by the per-process limiter because Redis was unavailable, by limiter "
    "(rate_limit, sign_in).",
    ["limiter"],
)
RECONNECTS = Counter(
    "autobroker_reconnects_total",
    "Connections lost and regained, by component (redis, order_events, worker) and event "
    "(lost, recovered).",
    ["component", "event"],
)
OUTBOX_BACKLOG = Gauge(
    "autobroker_outbox_backlog",
    "Committed order events not yet published on Redis (the relay publishes them).",
    multiprocess_mode="livemax",
)


class OperationNames:
    """The bounded set of operation names used as label values (see the module doc)."""

    def __init__(self, limit: int = MAX_OPERATION_NAMES) -> None:
        self._limit = limit
        self._known: set[str] = set()
        self._lock = threading.Lock()

    def label(self, name: object, *, admit: bool) -> str:
        if name is None or name == "":
            return "anonymous"
        if not isinstance(name, str):  # a client may send anything as operationName
            return "other"
        if name in self._known:
            return name
        if not admit or OPERATION_NAME.fullmatch(name) is None:
            return "other"
        with self._lock:
            if len(self._known) < self._limit:
                self._known.add(name)
                return name
        return "other"


OPERATION_NAMES = OperationNames()


def status_class(status: int) -> str:
    return f"{status // 100}xx" if 100 <= status <= 599 else "other"


def record_http(method: str, route: str, status: int, seconds: float) -> None:
    method = method if method in _METHODS else "other"
    HTTP_REQUESTS.labels(method, route, status_class(status)).inc()
    HTTP_DURATION.labels(method, route).observe(seconds)


def operation_type_label(value: str | None) -> str:
    return value if value in _OPERATION_TYPES else "unknown"


def record_operation(
    operation: str,
    operation_type: str,
    outcome: str,
    *,
    seconds: float | None = None,
    statements: int | None = None,
) -> None:
    """One finished GraphQL operation; `operation` must come from OPERATION_NAMES."""
    GRAPHQL_OPERATIONS.labels(operation, operation_type, outcome).inc()
    if seconds is not None:
        GRAPHQL_DURATION.labels(operation, operation_type).observe(seconds)
    if statements is not None:
        SQL_STATEMENTS.labels(operation).observe(statements)


def record_errors(codes: Iterable[object]) -> None:
    for code in codes:
        label = code if isinstance(code, str) and _ERROR_CODE.fullmatch(code) else "OTHER"
        GRAPHQL_ERRORS.labels(label).inc()


def record_batch(loader: str, size: int) -> None:
    DATALOADER_BATCH_SIZE.labels(loader).observe(size)


def record_job(job: str, outcome: str, seconds: float) -> None:
    JOB_RUNS.labels(job, outcome).inc()
    JOB_DURATION.labels(job, outcome).observe(seconds)


def record_cache(cache: str, *, hit: bool) -> None:
    CACHE_REQUESTS.labels(cache, "hit" if hit else "miss").inc()


def record_degraded(dependency: str, *, degraded: bool) -> None:
    DEGRADED.labels(dependency).set(1 if degraded else 0)


def record_fallback(limiter: str) -> None:
    FALLBACK_LIMITER.labels(limiter).inc()


def record_reconnect(component: str, event: str) -> None:
    RECONNECTS.labels(component, event).inc()


def record_outbox_backlog(events: int) -> None:
    OUTBOX_BACKLOG.set(events)


def multiprocess_dir() -> str | None:
    return os.environ.get(MULTIPROC_DIR_ENV) or None


def render() -> bytes:
    """The exposition text: this process's metrics, or every process's in multi-process mode."""
    return generate_latest(_registry())


def _registry() -> CollectorRegistry:
    if multiprocess_dir() is None:
        return REGISTRY
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    return registry


def serve_http(port: int, host: str = "0.0.0.0") -> None:  # noqa: S104 - scraped in-cluster
    """Serve /metrics on `port` from a background thread (the worker has no web server)."""
    start_http_server(port, addr=host, registry=_registry())


def process_exiting() -> None:
    """Drop this process's live gauges from the multi-process totals."""
    directory = multiprocess_dir()
    if directory is not None:
        multiprocess.mark_process_dead(os.getpid(), directory)  # type: ignore[no-untyped-call]
