"""Live order status fanned out: one order's events to many subscribers, on the API.

The measurement of `python -m bench.subscriptions` as a row of the table, with its code
(`Setup`, bench/subscription_load.py), on the benchmark's API server: FANOUT_SUBSCRIBERS
graphql-transport-ws sockets, one subscription each and offering permessage-deflate as
browsers do, follow one order of one buyer. The benchmark commits the order's
transitions (CHECKOUT and PAYMENT_FAILED in turn) and publishes them as the services
do, one at a time, each once every subscriber has the previous one.

Throughput: deliveries (one event reaching one subscriber) a second. Latency: from the
commit, taken here, to the arrival at a subscriber. Server CPU per delivery: the API
process's. Each round opens its sockets on a fresh order before timing starts. The
subscribers read in the benchmark's process, sharing the machine with the server.
With `order { id status }` in the selection, the server reads the order once an event
for all its subscribers; that statement is not counted (no in-process socket here).
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from bench.requests import HttpRequest
from bench.scenario import BenchEnv, Checked, CpuWindow, Measurement, Scenario
from bench.scenarios.buyers import SpareVehicles, create_buyers
from bench.servers import Contender
from bench.subscription_load import run_transitions, subscribers
from bench.subscriptions import Setup
from core.db import create_engine
from core.redis import create_redis

FANOUT_SUBSCRIBERS = 100
FIRST_TRANSITION = 4  # the order is RESERVED (events 1 to 3) when its subscribers join


class SubscriptionFanOut(Scenario):
    name = "subscription-fanout"
    title = (
        f"one order's status changes pushed to {FANOUT_SUBSCRIBERS} orderStatusChanged "
        "subscribers (graphql-transport-ws, a socket each, permessage-deflate), one "
        "transition at a time; throughput in deliveries, latency from the commit to arrival"
    )
    contenders = (Contender.API,)
    unit = "deliveries/s"
    half_load = False  # one transition in flight at a time already: no queue to halve

    def __init__(self) -> None:
        self._setup: Setup | None = None
        self._vehicles: SpareVehicles | None = None

    def requests(self, contender: Contender) -> Sequence[HttpRequest]:
        return ()  # driven over WebSockets, not by wrk

    async def prepare(self, env: BenchEnv) -> None:
        assert env.settings.redis_url is not None
        self._vehicles = await SpareVehicles.of(env)
        engine = create_engine(env.settings)
        [buyer] = await create_buyers(engine, env.settings, 1)
        server = env.servers[Contender.API]
        self._setup = Setup(
            env.settings, engine, create_redis(env.settings.redis_url),
            server.base_url.replace("http://", "ws://", 1) + "/graphql", buyer.authorization,
            buyer.id, [], server.pid, compression="deflate", quiet=True,
        )  # fmt: skip

    async def _new_order(self) -> int:
        assert self._setup is not None
        assert self._vehicles is not None
        self._setup.vehicles.append(await self._vehicles.take())
        return await self._setup.new_order()

    async def check(self, env: BenchEnv) -> dict[Contender, Checked]:
        """One subscriber gets one transition: the size of a delivery."""
        setup = self._setup
        assert setup is not None
        order_id = await self._new_order()
        async with subscribers(
            setup.url, setup.token, order_id, 1, compression=setup.compression
        ) as arrivals:
            await run_transitions(
                setup.engine, setup.redis, order_id, setup.buyer_id, arrivals,
                first=FIRST_TRANSITION, rounds=1,
            )  # fmt: skip
        delivered = sum(len(times) for times in arrivals.times.values())
        return {Contender.API: Checked(round(arrivals.received_bytes / delivered), None)}

    async def measure(
        self,
        env: BenchEnv,
        contender: Contender,
        seconds: float,
        *,
        think_ms: float | None = None,
        connections: int | None = None,
    ) -> Measurement:
        """Transitions for `seconds` to FANOUT_SUBSCRIBERS sockets opened beforehand."""
        setup = self._setup
        assert setup is not None
        server_cpu = env.server_cpu.setdefault(contender, env.servers[contender].cpu())
        order_id = await self._new_order()
        async with subscribers(
            setup.url, setup.token, order_id, FANOUT_SUBSCRIBERS, compression=setup.compression
        ) as arrivals:
            replayed = arrivals.received_bytes
            started = time.perf_counter()
            window = CpuWindow([server_cpu], env.db_cpu)
            samples = await run_transitions(
                setup.engine, setup.redis, order_id, setup.buyer_id, arrivals,
                first=FIRST_TRANSITION, until=started + seconds,
            )  # fmt: skip
            used = window.close()
            elapsed = time.perf_counter() - started
        # A delivery that never arrives fails the round (subscription_load.WAIT_SECONDS).
        return Measurement.of_driver(
            samples, elapsed, used, received_bytes=arrivals.received_bytes - replayed,
            details={
                "subscribers": float(FANOUT_SUBSCRIBERS),
                "transitions": len(samples) / FANOUT_SUBSCRIBERS,
            },
        )  # fmt: skip

    def note(self, median: Measurement) -> str | None:
        d = median.details
        return (
            f"{d['subscribers']:.0f} subscribers of one order, {d['transitions']:.0f} "
            "transitions committed and published by the benchmark, each delivered to all "
            "before the next; latency from the commit to the arrival at a subscriber, whose "
            "reading runs in the benchmark's process; SQL: the order read once an event for "
            "all its subscribers, not counted"
        )

    async def finish(self, env: BenchEnv) -> None:
        if self._setup is not None:
            await self._setup.redis.aclose()
            await self._setup.engine.dispose()
