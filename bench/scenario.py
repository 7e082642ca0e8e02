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

Such a scenario may also start what it needs in `prepare()` and stop it in `finish()`,
run by the benchmark after its last measurement (also when one failed); put figures of
its own in `Measurement.details` (kept in the JSON results) and one line about them in
`note()` (printed under the table); set `half_load = False` when "half the median
throughput" means nothing for its driver; and name in `server()` the process it loads,
when that is not the contender's shared server. `CpuWindow` reads CPU around a
measurement as `measure()` does.

Add the module to `SCENARIOS` in bench/scenarios/__init__.py; the table and the JSON
results take it from there. A row without a floor has no ratio.
"""

from __future__ import annotations

import abc
import statistics
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
    details: dict[str, float] = field(default_factory=dict)  # a scenario's own figures

    @property
    def throughput(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @classmethod
    def of_driver(
        cls, samples_ms: Sequence[float], seconds: float, used: CpuUsed, *,
        received_bytes: float, failures: Sequence[str] = (), details: dict[str, float],
    ) -> Measurement:  # fmt: skip
        """A scenario's own driver's measurement: one latency sample each done (a flow, a
        delivery), what failed, the CPU used meanwhile."""
        done = max(len(samples_ms), 1)
        latency = Latency.of(samples_ms)
        return cls(
            requests=len(samples_ms),
            seconds=seconds,
            p50_ms=latency.p50_ms,
            p95_ms=latency.p95_ms,
            p99_ms=latency.p99_ms,
            mean_ms=latency.mean_ms,
            server_cpu_us=used.server_seconds * 1e6 / done,
            db_cpu_us=None if used.db_seconds is None else used.db_seconds * 1e6 / done,
            wire_bytes=received_bytes / done,
            errors=len(failures),
            error_kinds="; ".join(sorted(set(failures)))[:500],
            other_cpu_cores=used.other_cores,
            details=details,
        )


@dataclass(frozen=True, slots=True)
class Latency:
    """Percentiles and mean of latency samples (ms), for a scenario with its own driver."""

    p50_ms: float
    p95_ms: float
    p99_ms: float
    mean_ms: float

    @classmethod
    def of(cls, samples_ms: Sequence[float]) -> Latency:
        if len(samples_ms) < 2:
            only = samples_ms[0] if samples_ms else 0.0
            return cls(only, only, only, only)
        cuts = statistics.quantiles(samples_ms, n=100, method="inclusive")
        return cls(cuts[49], cuts[94], cuts[98], statistics.fmean(samples_ms))


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
    half_load: ClassVar[bool] = True  # measure p99 at half the median throughput too

    async def prepare(self, env: BenchEnv) -> None:  # noqa: B027 - optional hook
        """Set up what the requests need (ids to ask for, a persisted query); once."""

    async def finish(self, env: BenchEnv) -> None:  # noqa: B027 - optional hook
        """Stop what `prepare()` started; once, after the last measurement."""

    def note(self, median: Measurement) -> str | None:
        """One line about the median round's own figures, printed under the table."""
        return None

    def server(self, env: BenchEnv, contender: Contender) -> Server:
        """The server process this scenario loads for the contender."""
        return env.servers[contender]

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
        window = CpuWindow([server_cpu], env.db_cpu)
        result = await env.wrk.run(
            server.base_url,
            self.requests(contender),
            seconds,
            think_ms=think_ms,
            connections=connections,
        )
        used = window.close()
        done = max(result.requests, 1)
        return Measurement(
            requests=result.requests,
            seconds=result.seconds,
            p50_ms=result.p50_ms,
            p95_ms=result.p95_ms,
            p99_ms=result.p99_ms,
            mean_ms=result.mean_ms,
            server_cpu_us=used.server_seconds * 1e6 / done,
            db_cpu_us=None if used.db_seconds is None else used.db_seconds * 1e6 / done,
            wire_bytes=result.bytes_read / done,
            errors=result.errors,
            error_kinds=result.error_kinds,
            other_cpu_cores=used.other_cores,
        )


@dataclass(frozen=True, slots=True)
class CpuUsed:
    """CPU seconds over a measurement: the servers', PostgreSQL's, and the rest's rate."""

    server_seconds: float
    db_seconds: float | None  # None when PostgreSQL does not run on this machine
    other_cores: float  # cores the rest of the machine kept busy meanwhile


class CpuWindow:
    """CPU of server processes, of PostgreSQL and of the whole machine, from now on."""

    def __init__(self, servers: Sequence[ProcessTreeCpu], db: ProcessTreeCpu | None) -> None:
        self._servers = servers
        self._db = db
        self._machine = psutil.cpu_times()
        self._started = time.monotonic()
        self._before = [server.sample() for server in servers]
        self._before_db = db.sample() if db is not None else None

    def close(self) -> CpuUsed:
        """What was used since the window opened."""
        after = [server.sample() for server in self._servers]
        after_db = self._db.sample() if self._db is not None else None
        elapsed = max(time.monotonic() - self._started, 1e-3)
        machine_busy = _busy_seconds(psutil.cpu_times()) - _busy_seconds(self._machine)
        pairs = zip(self._before, after, strict=True)
        server_seconds = sum(ProcessTreeCpu.used(before, now) for before, now in pairs)
        db_seconds = None
        if self._before_db is not None and after_db is not None:
            db_seconds = ProcessTreeCpu.used(self._before_db, after_db)
        other = max(0.0, machine_busy - server_seconds - (db_seconds or 0.0)) / elapsed
        return CpuUsed(server_seconds, db_seconds, other)


def _busy_seconds(times: Any) -> float:
    """CPU seconds the whole machine was busy (neither idle nor waiting for I/O)."""
    names = ("user", "nice", "system", "irq", "softirq")
    return float(sum(getattr(times, name, 0.0) for name in names))


def _absolute(request: HttpRequest, base_url: str) -> HttpRequest:
    return HttpRequest(request.method, base_url + request.path, request.body, request.headers)
