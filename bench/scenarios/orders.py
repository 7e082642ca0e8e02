"""The order flow, end to end: a buyer reserves a vehicle, pays for it, and sees it PAID.

Each flow (bench/scenarios/order_flow.py) is createOrder with reserve, checkout, the
payment confirmed on the Stripe emulator, its signed webhooks at /webhooks/stripe
applied by `autobroker worker`, and PAID delivered by orderStatusChanged. Every flow
needs the ids the previous step returned, so an asyncio driver in the benchmark's
process runs it instead of wrk: FLOW_BUYERS buyers at once, each on its own socket,
each flow on a vehicle no other flow and no read scenario uses (bench/scenarios/buyers.py).

It runs against its own API process and worker, pointed at the emulator
(bench/scenarios/payment_stack.py). Server CPU is the API's and the worker's together
(the split is in the note and the JSON results); the driver and the emulator are the
benchmark's. SQL per flow is counted in-process before timing, step by step; the
subscription's own reads are not in it. There is no floor: the row has no ratio.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncEngine

from bench.requests import HttpRequest
from bench.scenario import BenchEnv, Checked, CpuWindow, Latency, Measurement, Scenario
from bench.scenarios.buyers import Buyer, SpareVehicles, create_buyers
from bench.scenarios.order_flow import ORDER_STATE, FlowDriver, FlowError, FlowTimes, graphql
from bench.scenarios.payment_stack import FlowStatements, PaymentStack, count_flow_statements
from bench.servers import Contender, Server
from core.app import create_app
from core.db import create_engine

FLOW_BUYERS = 4
# (JSON key, label, FlowTimes attribute) of each timed step
STEPS = (
    ("create_reserve", "create+reserve", "create_ms"),
    ("checkout", "checkout", "checkout_ms"),
    ("confirm", "confirm on Stripe", "confirm_ms"),
    ("webhook_to_paid", "webhook-to-paid", "paid_ms"),
)
PAID = {"status": "PAID", "vehicle": {"status": "SOLD"}, "payments": [{"status": "SUCCEEDED"}]}


class OrderFlow(Scenario):
    name = "order-flow"
    title = (
        "a purchase end to end: createOrder with reserve, checkout, the payment confirmed on "
        "the Stripe emulator, its signed webhooks applied by `autobroker worker`, until "
        f"orderStatusChanged delivers PAID; {FLOW_BUYERS} buyers at once, a fresh vehicle a "
        "flow; its own API process and worker, on the emulator"
    )
    contenders = (Contender.API,)
    unit = "flows/s"

    def __init__(self) -> None:
        self._stack: PaymentStack | None = None
        self._engine: AsyncEngine | None = None
        self._buyers: list[Buyer] = []
        self._vehicles: SpareVehicles | None = None
        self._statements: FlowStatements | None = None

    def requests(self, contender: Contender) -> Sequence[HttpRequest]:
        return ()  # driven by FlowDriver, not wrk

    def server(self, env: BenchEnv, contender: Contender) -> Server:
        return self._api()

    def _api(self) -> Server:
        if self._stack is None or self._stack.api is None:
            raise RuntimeError("the order flow's API process runs from prepare() on")
        return self._stack.api

    def _driver(self, buyers: list[Buyer]) -> FlowDriver:
        assert self._stack is not None
        assert self._vehicles is not None
        return FlowDriver(self._api().base_url, self._stack.card, buyers, self._vehicles)

    async def prepare(self, env: BenchEnv) -> None:
        self._vehicles = await SpareVehicles.of(env)
        self._engine = create_engine(env.settings)
        # Half load may run up to wrk's number of connections as buyers.
        count = max(FLOW_BUYERS, env.wrk.connections)
        self._buyers = await create_buyers(self._engine, env.settings, count)
        self._stack = await PaymentStack.open(env.settings)
        # In a task of its own, so that the statement counter stays in there.
        self._statements = await asyncio.create_task(self._count_in_process())
        await self._stack.serve()

    async def _count_in_process(self) -> FlowStatements:
        assert self._stack is not None
        assert self._vehicles is not None
        app = create_app(self._stack.settings)
        async with app.router.lifespan_context(app):
            vehicle_id = await self._vehicles.take()
            return await count_flow_statements(self._stack, app, self._buyers[0], vehicle_id)

    async def check(self, env: BenchEnv) -> dict[Contender, Checked]:
        """One flow through the processes: the order PAID, its vehicle SOLD, paid once."""
        assert self._stack is not None
        assert self._statements is not None
        buyer = self._buyers[0]
        try:
            async with self._driver([buyer]) as driver:
                flow = await driver.one()
                data, _ = await graphql(
                    driver.api, "order", ORDER_STATE, {"id": flow.order_id}, buyer.authorization
                )
        except FlowError as error:
            raise FlowError("check", f"{error}\n{self._stack.log_tails()}") from None
        if data["order"] != PAID:
            raise FlowError("check", f"the order ended {data['order']}, expected {PAID}")
        counted = self._statements
        return {Contender.API: Checked(flow.received_bytes, counted.total, counted.texts)}

    async def measure(
        self,
        env: BenchEnv,
        contender: Contender,
        seconds: float,
        *,
        think_ms: float | None = None,
        connections: int | None = None,
    ) -> Measurement:
        """Buyers run flows for `seconds` (`connections` of them, FLOW_BUYERS by default;
        `think_ms` on average before each flow); CPU over the flows, sockets already open."""
        assert self._stack is not None
        buyers = self._buyers[: connections or FLOW_BUYERS]
        async with self._driver(buyers) as driver:
            api_cpu, worker_cpu = self._stack.cpu
            window = CpuWindow([api_cpu, worker_cpu], env.db_cpu)
            worker_window = CpuWindow([worker_cpu], None)
            run = await driver.run(seconds, think_ms=think_ms)
            used, worker_used = window.close(), worker_window.close()
        done = max(len(run.flows), 1)
        details = {
            "buyers": float(len(buyers)),
            "api_cpu_us": (used.server_seconds - worker_used.server_seconds) * 1e6 / done,
            "worker_cpu_us": worker_used.server_seconds * 1e6 / done,
            **_step_figures(run.flows),
        }
        if self._statements is not None:
            details |= {f"sql_{step}": float(n) for step, n in self._statements.by_step().items()}
        return Measurement.of_driver(
            [flow.total_ms for flow in run.flows], run.seconds, used,
            received_bytes=sum(flow.received_bytes for flow in run.flows),
            failures=run.failures, details=details,
        )  # fmt: skip

    def note(self, median: Measurement) -> str | None:
        d = median.details
        steps = ", ".join(
            f"{label} {d[f'{key}_p50_ms']:.1f}/{d[f'{key}_p95_ms']:.1f}/{d[f'{key}_p99_ms']:.1f}"
            for key, label, _ in STEPS
        )
        sql = self._statements.describe() if self._statements else "—"
        return (
            f"{d['buyers']:.0f} buyers; per step p50/p95/p99 ms: {steps}; server CPU per flow: "
            f"API {d['api_cpu_us']:,.0f} µs + worker {d['worker_cpu_us']:,.0f} µs; SQL per "
            f"flow: {sql} (the subscription's reads not counted); API: {self._api().command} "
            "(`serve` refuses an http STRIPE_API_BASE in production), `autobroker worker`, the "
            "Stripe emulator in the benchmark's process"
        )

    async def finish(self, env: BenchEnv) -> None:
        try:
            if self._stack is not None:
                await self._stack.close()
        finally:
            if self._engine is not None:
                await self._engine.dispose()


def _step_figures(flows: list[FlowTimes]) -> dict[str, float]:
    figures: dict[str, float] = {}
    for key, _, attribute in STEPS:
        latency = Latency.of([getattr(flow, attribute) for flow in flows])
        figures |= {
            f"{key}_p50_ms": latency.p50_ms,
            f"{key}_p95_ms": latency.p95_ms,
            f"{key}_p99_ms": latency.p99_ms,
        }
    return figures
