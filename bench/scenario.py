"""What a scenario is, and what it measures: the extension point of the benchmark.

A scenario is one page or flow of the product, measured for each of its contenders. The
read scenarios (bench/scenarios/catalog.py) only say which requests to send: the base
class checks that every contender answers the same, counts the SQL statements of one
request in-process, and drives the servers with wrk. A scenario that cannot be a fixed
list of requests overrides the steps that differ and still returns `Measurement`s:

- the order flow (create with reserve, checkout, webhook to paid) has no floor or naive
  baseline: `contenders = (Contender.API,)`, and `measure()` runs its own driver (each
  iteration needs the ids the previous response returned);
- the subscription fan-out reports deliveries a second and delivery latency: its
  `measure()` fills `throughput` and the percentiles with those, and says so in `unit`.

Add the module to `SCENARIOS` in bench/scenarios/__init__.py; the table and the JSON
results take it from there. A row without a floor has no ratio.
"""

from __future__ import annotations

import abc
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import httpx
import psutil

from bench.cpu import ProcessTreeCpu
from bench.identity import check_body, check_same
from bench.requests import HttpRequest
from bench.servers import Contender, Server
from bench.wrk import Wrk
from core.db import start_counting
from core.settings import Settings


@dataclass(frozen=True, slots=True)
class Measurement:
    """One contender's figures over one run of a scenario."""

    requests: int
    seconds: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    mean_ms: float
    server_cpu_us: float  # server process CPU (user + system) per request
    db_cpu_us: float | None  # PostgreSQL's, when it runs on this machine
    wire_bytes: float  # bytes read per request, headers included
    errors: int  # failed requests (wrk: connect, read, write, timeout, non-2xx/3xx)
    error_kinds: str
    other_cpu_cores: float  # CPU the rest of the machine used meanwhile (wrk included)

    @property
    def throughput(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


@dataclass(slots=True)
class BenchEnv:
    """What scenarios run against: the servers, the in-process apps, wrk, the database."""

    settings: Settings
    dsn: str  # asyncpg DSN of the benchmark database
    servers: dict[Contender, Server]
    in_process: dict[Contender, Any]  # the same apps as ASGI callables, lifespans open
    wrk: Wrk
    db_cpu: ProcessTreeCpu | None
    server_cpu: dict[Contender, ProcessTreeCpu] = field(default_factory=dict)


async def send(client: httpx.AsyncClient, request: HttpRequest) -> httpx.Response:
    return await client.request(
        request.method, request.path, content=request.body, headers=dict(request.headers)
    )


@dataclass(frozen=True, slots=True)
class Checked:
    """What the check before timing learnt about one contender."""

    body_bytes: int  # mean body size over the scenario's requests
    statements: int | None  # SQL statements of one request, counted in-process
    statement_texts: tuple[str, ...] = ()


class Scenario(abc.ABC):
    name: ClassVar[str]  # short, for --scenario and the table
    title: ClassVar[str]  # one line for the README
    contenders: ClassVar[tuple[Contender, ...]] = (Contender.FLOOR, Contender.NAIVE, Contender.API)
    unit: ClassVar[str] = "req/s"

    async def prepare(self, env: BenchEnv) -> None:  # noqa: B027 - optional hook
        """Set up what the requests need (ids to ask for, a persisted query); once."""

    @abc.abstractmethod
    def requests(self, contender: Contender) -> Sequence[HttpRequest]:
        """The requests wrk cycles through for this contender."""

    async def check(self, env: BenchEnv) -> dict[Contender, Checked]:
        """Every contender answers every request as the first one (the floor) does."""
        bodies: dict[Contender, list[bytes]] = {}
        async with httpx.AsyncClient(timeout=60) as client:
            for contender in self.contenders:
                server = env.servers[contender]
                bodies[contender] = []
                for request in self.requests(contender):
                    response = await send(client, _absolute(request, server.base_url))
                    check_body(response.content, name=contender.value, status=response.status_code)
                    bodies[contender].append(response.content)
        reference = self.contenders[0]
        for contender in self.contenders[1:]:
            for index, (expected, got) in enumerate(
                zip(bodies[reference], bodies[contender], strict=True)
            ):
                check_same(
                    expected,
                    got,
                    name=f"{contender.value} (request {index + 1} of {self.name})",
                    may_add_extensions=contender is Contender.API,
                )
        checked: dict[Contender, Checked] = {}
        for contender in self.contenders:
            count, texts = await self.count_statements(env, contender)
            sizes = [len(body) for body in bodies[contender]]
            checked[contender] = Checked(round(sum(sizes) / len(sizes)), count, texts)
        return checked

    async def count_statements(
        self, env: BenchEnv, contender: Contender
    ) -> tuple[int | None, tuple[str, ...]]:
        """SQL statements of the first request, run in-process (no timing is distorted)."""
        app = env.in_process.get(contender)
        if app is None:
            return None, ()
        request = self.requests(contender)[0]
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            counter = start_counting(keep_text=True)
            response = await send(client, request)
        check_body(response.content, name=f"{contender.value} in-process", status=200)
        return counter.count, tuple(counter.statements)

    async def measure(
        self,
        env: BenchEnv,
        contender: Contender,
        seconds: float,
        *,
        think_ms: float | None = None,
        connections: int | None = None,
    ) -> Measurement:
        """Drive the contender's server with wrk; its CPU and PostgreSQL's around the run.

        `think_ms`: wait that long on average before each request (a target rate instead
        of the maximum); `connections`: instead of wrk's usual number.
        """
        server = env.servers[contender]
        server_cpu = env.server_cpu.setdefault(contender, server.cpu())
        db_cpu = env.db_cpu
        before_machine = psutil.cpu_times()
        started = time.monotonic()
        before_server = server_cpu.sample()
        before_db = db_cpu.sample() if db_cpu is not None else None
        result = await env.wrk.run(
            server.base_url,
            self.requests(contender),
            seconds,
            think_ms=think_ms,
            connections=connections,
        )
        after_server = server_cpu.sample()
        after_db = db_cpu.sample() if db_cpu is not None else None
        elapsed = max(time.monotonic() - started, 1e-3)
        machine_busy = _busy_seconds(psutil.cpu_times()) - _busy_seconds(before_machine)
        server_seconds = ProcessTreeCpu.used(before_server, after_server)
        done = max(result.requests, 1)
        db_us, db_seconds = None, 0.0
        if before_db is not None and after_db is not None:
            db_seconds = ProcessTreeCpu.used(before_db, after_db)
            db_us = db_seconds * 1e6 / done
        return Measurement(
            requests=result.requests,
            seconds=result.seconds,
            p50_ms=result.p50_ms,
            p95_ms=result.p95_ms,
            p99_ms=result.p99_ms,
            mean_ms=result.mean_ms,
            server_cpu_us=server_seconds * 1e6 / done,
            db_cpu_us=db_us,
            wire_bytes=result.bytes_read / done,
            errors=result.errors,
            error_kinds=result.error_kinds,
            other_cpu_cores=max(0.0, machine_busy - server_seconds - db_seconds) / elapsed,
        )


def _busy_seconds(times: Any) -> float:
    """CPU seconds the whole machine was busy (neither idle nor waiting for I/O)."""
    names = ("user", "nice", "system", "irq", "softirq")
    return float(sum(getattr(times, name, 0.0) for name in names))


def _absolute(request: HttpRequest, base_url: str) -> HttpRequest:
    return HttpRequest(request.method, base_url + request.path, request.body, request.headers)
