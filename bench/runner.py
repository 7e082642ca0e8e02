"""Runs one scenario: check, warm up, alternating rounds, the median, then half load.

Rounds alternate between contenders (floor, naive, api, floor, naive, api, …) so that a
slow drift of the machine (another process, a CPU's clock) touches every contender
alike; each contender's row is its median round by throughput. Latency at half load is
measured after the rounds: wrk waits a random (uniform) think time before each
request, tuned so that its connections together send half the median throughput.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from bench.scenario import BenchEnv, Checked, Measurement, Scenario
from bench.servers import Contender

WARMUP_REQUESTS_PER_CONNECTION = 8
WARMUP_MAX_SECONDS = 30
MAX_THINK_MS = 2000  # mean; at most twice that, below uvicorn's 5 s keep-alive timeout


class BenchmarkFailedError(RuntimeError):
    """A contender answered errors under load, or nothing at all."""


@dataclass(frozen=True, slots=True)
class Plan:
    rounds: int
    seconds: float
    warmup_seconds: float
    half_load: bool


@dataclass(frozen=True, slots=True)
class Row:
    scenario: str
    contender: Contender
    unit: str
    rounds: tuple[Measurement, ...]
    median: Measurement
    half_load: Measurement | None
    checked: Checked
    ratio: float | None  # throughput / the floor's, None without a floor
    cpu_ratio: float | None  # server CPU per request / the floor's: steadier on a busy machine

    @property
    def spread(self) -> float:
        """(best - worst) / median throughput over the rounds."""
        values = [m.throughput for m in self.rounds]
        return (max(values) - min(values)) / self.median.throughput if self.median.throughput else 0


def _median(measurements: list[Measurement]) -> Measurement:
    ordered = sorted(measurements, key=lambda m: m.throughput)
    return ordered[(len(ordered) - 1) // 2]


def _require_success(
    scenario: Scenario,
    contender: Contender,
    measurement: Measurement,
    *,
    socket_errors_allowed: float = 0.01,
) -> None:
    if measurement.requests == 0:
        raise BenchmarkFailedError(f"{scenario.name}/{contender}: no request completed")
    # A wrong answer aborts; a rare socket error (a connection reset while the machine is
    # overloaded) is reported with the row, and aborts only past the allowed share.
    too_many = measurement.errors > measurement.requests * socket_errors_allowed
    if "status" in measurement.error_kinds or too_many:
        raise BenchmarkFailedError(
            f"{scenario.name}/{contender}: {measurement.errors} of {measurement.requests} "
            f"requests failed under load ({measurement.error_kinds}; see the server log)"
        )


async def _warm_up(env: BenchEnv, scenario: Scenario, contender: Contender, plan: Plan) -> None:
    """Run until every pooled connection has run each statement past PostgreSQL's plan
    cache threshold (5 executions, then a generic plan may replace the custom ones), so
    that rounds measure the steady state a long-running server is in."""
    wanted = WARMUP_REQUESTS_PER_CONNECTION * env.wrk.connections
    first = await scenario.measure(env, contender, plan.warmup_seconds)
    if first.requests < wanted and first.throughput > 0:
        more = (wanted - first.requests) / first.throughput + 1
        await scenario.measure(env, contender, min(more, WARMUP_MAX_SECONDS))


async def _at_half_load(
    env: BenchEnv, scenario: Scenario, contender: Contender, median: Measurement, seconds: float
) -> Measurement:
    # A closed loop of C connections, each waiting T between a response and its next
    # request, with latency L, sends C / (T + L) requests a second. One connection per two
    # requests a second keeps T near half a second, with more connections than requests
    # in flight at half load, and below MAX_THINK_MS: uvicorn closes a connection idle
    # for 5 s (a contender slower than 0.5 request a second then gets more than half).
    # A probe measures L, then T is set.
    target = median.throughput / 2
    connections = max(1, min(env.wrk.connections, math.ceil(target / 2)))
    think_ms = min(MAX_THINK_MS, connections * 1000 / target)
    probe_seconds = min(seconds, max(3.0, 20 / target))
    probe = await scenario.measure(
        env, contender, probe_seconds, think_ms=think_ms, connections=connections
    )
    if probe.requests:
        think_ms = max(0.0, min(MAX_THINK_MS, connections * 1000 / target - probe.mean_ms))
    return await scenario.measure(
        env, contender, seconds, think_ms=think_ms, connections=connections
    )


async def run_scenario(
    env: BenchEnv, scenario: Scenario, plan: Plan, say: Callable[[str], None]
) -> list[Row]:
    """The scenario's rows, one per contender, its floor first."""
    await scenario.prepare(env)
    checked = await scenario.check(env)
    say(f"{scenario.name}: responses identical; SQL/request " + ", ".join(
        f"{c} {'—' if checked[c].statements is None else checked[c].statements}"
        for c in scenario.contenders
    ))  # fmt: skip
    if plan.warmup_seconds > 0:
        for contender in scenario.contenders:
            await _warm_up(env, scenario, contender, plan)
    results: dict[Contender, list[Measurement]] = {c: [] for c in scenario.contenders}
    for number in range(1, plan.rounds + 1):
        for contender in scenario.contenders:
            measurement = await scenario.measure(env, contender, plan.seconds)
            _require_success(scenario, contender, measurement)
            results[contender].append(measurement)
            say(
                f"{scenario.name} round {number}/{plan.rounds} {contender}: "
                f"{measurement.throughput:,.1f} {scenario.unit}, p99 {measurement.p99_ms:.1f} ms"
            )
    floor = _median(results[Contender.FLOOR]) if Contender.FLOOR in results else None
    rows: list[Row] = []
    for contender in scenario.contenders:
        median = _median(results[contender])
        half = None
        if plan.half_load and scenario.half_load:
            half = await _at_half_load(env, scenario, contender, median, plan.seconds)
            # Few requests at a low rate: one reset connection is not a failure there.
            _require_success(scenario, contender, half, socket_errors_allowed=0.1)
            say(
                f"{scenario.name} half load {contender}: {half.throughput:,.1f} "
                f"{scenario.unit}, p99 {half.p99_ms:.1f} ms"
            )
        rows.append(
            Row(
                scenario=scenario.name,
                contender=contender,
                unit=scenario.unit,
                rounds=tuple(results[contender]),
                median=median,
                half_load=half,
                checked=checked[contender],
                ratio=median.throughput / floor.throughput if floor and floor.throughput else None,
                cpu_ratio=median.server_cpu_us / floor.server_cpu_us
                if floor and floor.server_cpu_us
                else None,
            )
        )
    return rows
