"""The shared Redis client: every call bounded in time, and a circuit per server.

Redis can vanish (killed: refused at once) or stall (paused, overloaded: nothing comes
back). Every socket operation has a deadline (`socket_timeout`, `socket_connect_timeout`);
a stale pooled connection after a restart is retried once, a timeout never. And each
process keeps a circuit per Redis URL: after a failure, calls fail at once for
`open_seconds` (no connection is even attempted), then the next call probes again. So a
stalled Redis costs a request at most one timeout, and a process serving hundreds of
requests a second does not pile them up behind a dead socket.

Callers see a `redis.exceptions.ConnectionError` (`RedisUnavailable` while the circuit is
open) or `TimeoutError`, both `RedisError`: what they already handle.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.connection import (
    AbstractConnection,
    Connection,
    ConnectionPool,
    SSLConnection,
    UnixDomainSocketConnection,
    parse_url,
)
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from core import metrics

log = logging.getLogger("autobroker.redis")

SOCKET_TIMEOUT_SECONDS = 1.0
CONNECT_TIMEOUT_SECONDS = 1.0
CIRCUIT_OPEN_SECONDS = 2.0
HEALTH_CHECK_SECONDS = 5


class RedisUnavailable(RedisConnectionError):
    """Redis failed a moment ago; calls are refused at once until the next probe."""


@dataclass(slots=True)
class RedisCircuit:
    """Open after a failure, for `open_seconds`; closed by the next success."""

    open_seconds: float = CIRCUIT_OPEN_SECONDS
    failed_at: float | None = None
    failures: int = 0  # failures since the circuit last closed
    outages: int = 0  # how often it opened from closed
    recoveries: int = 0  # how often it closed again
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def degraded(self) -> bool:
        """Whether the last thing Redis did was fail."""
        return self.failed_at is not None

    def allow(self) -> bool:
        failed_at = self.failed_at
        return failed_at is None or time.monotonic() - failed_at >= self.open_seconds

    def record_failure(self) -> None:
        with self._lock:
            if self.failed_at is None:
                self.outages += 1
                log.warning("Redis unavailable: serving without it until it answers again")
                metrics.record_degraded("redis", degraded=True)
                metrics.record_reconnect("redis", "lost")
            self.failed_at = time.monotonic()
            self.failures += 1

    def record_success(self) -> None:
        if self.failed_at is not None:
            with self._lock:
                if self.failed_at is not None:
                    self.failed_at = None
                    self.failures = 0
                    self.recoveries += 1
                    log.info("Redis answers again")
                    metrics.record_degraded("redis", degraded=False)
                    metrics.record_reconnect("redis", "recovered")


_circuits: dict[str, RedisCircuit] = {}
_circuits_lock = threading.Lock()


def circuit_for(url: str) -> RedisCircuit:
    """The process's circuit for the Redis at `url` (one per URL, shared by its clients)."""
    with _circuits_lock:
        return _circuits.setdefault(url, RedisCircuit())


def circuits() -> list[RedisCircuit]:
    """Every circuit this process holds (for readiness and metrics)."""
    with _circuits_lock:
        return list(_circuits.values())


class _Guarded:
    """Connection behaviour: refuse while the circuit is open, report what happens."""

    circuit: RedisCircuit

    def _refuse(self) -> None:
        if not self.circuit.allow():
            raise RedisUnavailable("Redis is unavailable (it failed less than a moment ago)")

    async def connect(self) -> None:
        self._refuse()
        try:
            await super().connect()  # type: ignore[misc]
        except (RedisConnectionError, RedisTimeoutError, OSError):
            self.circuit.record_failure()
            raise

    async def send_packed_command(self, command: Any, check_health: bool = True) -> None:
        if not self.circuit.allow():
            await self.disconnect()  # type: ignore[attr-defined]
            self._refuse()
        try:
            await super().send_packed_command(command, check_health)  # type: ignore[misc]
        except RedisTimeoutError:
            self.circuit.record_failure()
            raise

    async def read_response(self, *args: Any, **kwargs: Any) -> Any:
        try:
            response = await super().read_response(*args, **kwargs)  # type: ignore[misc]
        except RedisTimeoutError:
            self.circuit.record_failure()
            raise
        if kwargs.get("timeout") is None:
            # A reply to a command (a pub/sub wait with its own timeout says nothing).
            self.circuit.record_success()
        return response


def _guarded_class(base: type[AbstractConnection], circuit: RedisCircuit) -> type[Any]:
    return type(f"Guarded{base.__name__}", (_Guarded, base), {"circuit": circuit})


def create_pool(url: str, *, max_connections: int | None = None) -> ConnectionPool:
    """A connection pool on `url` whose connections are bounded and circuit-guarded."""
    options: dict[str, Any] = dict(parse_url(url))
    base = options.pop("connection_class", Connection)
    if base not in (Connection, SSLConnection, UnixDomainSocketConnection):
        base = Connection
    options.setdefault("socket_timeout", SOCKET_TIMEOUT_SECONDS)
    options.setdefault("socket_connect_timeout", CONNECT_TIMEOUT_SECONDS)
    options["health_check_interval"] = HEALTH_CHECK_SECONDS
    # One retry for a connection that broke (a pooled socket to a restarted server);
    # none for a timeout: a stalled server is not asked twice.
    options["retry"] = Retry(NoBackoff(), 1, supported_errors=(RedisConnectionError,))
    options["retry_on_error"] = [RedisConnectionError]
    return ConnectionPool(
        connection_class=_guarded_class(base, circuit_for(url)),
        max_connections=max_connections,
        **options,
    )


def create_redis(url: str) -> Redis:
    """A pooled client on `url` (redis://, rediss:// or unix://), bounded and guarded."""
    client: Redis = Redis.from_pool(create_pool(url))  # closing the client closes the pool
    return client
