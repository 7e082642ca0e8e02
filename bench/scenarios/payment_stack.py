"""What the order flow runs against: the Stripe emulator, and an API process and an
`autobroker worker` pointed at it.

- The emulator (core/stripe_emulator) runs in the benchmark's own process, on a free
  port, as `autobroker dev` runs it; its signed webhooks go to the API process's
  /webhooks/stripe. It plays Stripe: its CPU is the benchmark's, not the server's.
- The API process is the production app with the benchmark servers' environment
  (bench/servers.py) and the emulator as STRIPE_API_BASE. `autobroker serve` refuses,
  in production, a Stripe API base that is not https, so uvicorn starts this process
  with the flags `serve` uses; the read scenarios' API process keeps `serve`.
- `autobroker worker` applies the stored webhook events (a job each), and runs its
  schedules as in production.

Before the processes take the traffic, `count_flow_statements` runs one flow through an
in-process app with the same settings, a burst worker in-process, and the webhooks
delivered by hand, counting each step's SQL statements (core.db.start_counting).
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
from arq.constants import health_check_key_suffix
from pydantic import SecretStr

from bench.cpu import ProcessTreeCpu
from bench.scenarios.buyers import Buyer
from bench.scenarios.order_flow import (
    ORDER_STATE,
    FlowError,
    StripeTestCard,
    check_out,
    create_reserved,
    graphql,
)
from bench.servers import (
    Contender,
    Server,
    server_environment,
    start_servers,
    start_worker,
    stop_process,
)
from core.db import start_counting
from core.redis import create_redis
from core.redis_keys import JOB_QUEUE
from core.settings import Settings
from core.stripe_emulator import StripeEmulator
from jobs.worker import create_worker

EMULATOR_API_KEY = "sk_test_bench_emulator"
EMULATOR_WEBHOOK_SECRET = "whsec_bench_emulator"  # noqa: S105 - signs the emulator's events
WORKER_START_SECONDS = 60
LOG_TAIL_CHARACTERS = 1500


class PaymentStack:
    """The emulator, now; the API and worker processes once `serve()` has run."""

    def __init__(self, settings: Settings, emulator: StripeEmulator) -> None:
        self.settings = settings  # the processes' (and the in-process app's) settings
        self.emulator = emulator
        self.card = StripeTestCard(emulator.base_url, EMULATOR_API_KEY)
        self.log_dir = Path(tempfile.mkdtemp(prefix="bench-payments-"))
        self._env = {
            **server_environment(settings),
            "STRIPE_SECRET_KEY": EMULATOR_API_KEY,
            "STRIPE_WEBHOOK_SECRET": EMULATOR_WEBHOOK_SECRET,
            "STRIPE_API_BASE": emulator.base_url,
        }
        # uvicorn imports the app while the caller works in-process meanwhile.
        self._api_starting = asyncio.get_running_loop().create_task(
            asyncio.to_thread(start_servers, [Contender.API], self._env, self.log_dir, serve=False)
        )
        self.api: Server | None = None
        self.worker: subprocess.Popen[bytes] | None = None
        self.cpu: list[ProcessTreeCpu] = []  # the API's, then the worker's

    @classmethod
    async def open(cls, settings: Settings) -> PaymentStack:
        emulator = StripeEmulator(
            api_key=EMULATOR_API_KEY, webhook_secret=EMULATOR_WEBHOOK_SECRET,
            webhook_url=None, settle_after=None,
        )  # fmt: skip
        await emulator.start()
        on_emulator = settings.model_copy(
            update={
                "stripe_secret_key": SecretStr(EMULATOR_API_KEY),
                "stripe_webhook_secret": SecretStr(EMULATOR_WEBHOOK_SECRET),
                "stripe_api_base": emulator.base_url,
            }
        )
        return cls(on_emulator, emulator)

    async def serve(self) -> Server:
        """Start the worker, wait for it and the API process, send the API the webhooks."""
        assert self.settings.redis_url is not None
        redis = create_redis(self.settings.redis_url)
        ready = JOB_QUEUE + health_check_key_suffix
        try:
            await redis.delete(ready)  # an in-process burst worker's, or an earlier run's
            self.worker = start_worker(self._env, self.log_dir / "worker.log")
            self.api = (await self._api_starting)[Contender.API]
            deadline = time.monotonic() + WORKER_START_SECONDS
            while not await redis.exists(ready):
                if self.worker.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"`autobroker worker` did not start\n{self.log_tails()}")
                await asyncio.sleep(0.1)
        finally:
            await redis.aclose()
        self.emulator.send_webhooks_to(f"{self.api.base_url}/webhooks/stripe")
        self.cpu = [self.api.cpu(), ProcessTreeCpu(self.worker.pid)]
        return self.api

    def log_tails(self) -> str:
        tails = []
        for log in sorted(self.log_dir.glob("*.log")):
            text = log.read_text(errors="replace")[-LOG_TAIL_CHARACTERS:].strip()
            if text:
                tails.append(f"--- {log.stem} log (end) ---\n{text}")
        return "\n".join(tails)

    async def close(self) -> None:
        try:
            if self.worker is not None:
                stop_process(self.worker)
            if self.api is None:
                with contextlib.suppress(Exception):  # its failure was reported already
                    self.api = (await self._api_starting)[Contender.API]
            if self.api is not None:
                self.api.stop()
        finally:
            await self.emulator.stop()
            shutil.rmtree(self.log_dir, ignore_errors=True)


async def _run_jobs(settings: Settings) -> None:
    """Every queued job, once, by an arq worker in this process (no schedules)."""
    worker = create_worker(settings, handle_signals=False, burst=True)
    worker.cron_jobs = []
    try:
        await worker.main()
    finally:
        await worker.close()


@dataclass(frozen=True, slots=True)
class FlowStatements:
    """The SQL statements of one flow, counted in-process, by step."""

    create_order: int
    checkout: int
    webhooks: int  # the endpoint's, for every webhook Stripe sent about the payment
    jobs: int  # the worker's, applying them
    webhooks_sent: int
    texts: tuple[str, ...]

    def by_step(self) -> dict[str, int]:
        return {
            "create_order": self.create_order, "checkout": self.checkout,
            "webhooks": self.webhooks, "jobs": self.jobs,
        }  # fmt: skip

    @property
    def total(self) -> int:
        return sum(self.by_step().values())

    def describe(self) -> str:
        return (
            f"createOrder {self.create_order}, checkout {self.checkout}, "
            f"{self.webhooks_sent} webhooks {self.webhooks}, their jobs {self.jobs}"
        )


async def count_flow_statements(
    stack: PaymentStack, app: object, buyer: Buyer, vehicle_id: int
) -> FlowStatements:
    """One flow through `app` (in-process, the stack's settings, lifespan open), its SQL
    statements counted by step. Webhooks are delivered here, signed by the emulator; the
    jobs run in a burst worker here, after one that empties the queue first."""
    await _run_jobs(stack.settings)  # jobs an earlier run left in a kept Redis
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    counts: dict[str, int] = {}
    texts: list[str] = []

    def counted(step: str) -> None:
        counts[step] = counter.count
        texts.extend(counter.statements)

    async with (
        httpx.AsyncClient(transport=transport, base_url="http://bench") as client,
        httpx.AsyncClient() as stripe,
    ):
        counter = start_counting(keep_text=True)
        order_id, _ = await create_reserved(client, buyer, vehicle_id)
        counted("create_order")
        first_event = len(stack.emulator.events)
        counter = start_counting(keep_text=True)
        intent_id, _ = await check_out(client, buyer, order_id)
        counted("checkout")
        await stack.card.confirm(stripe, intent_id)
        events = stack.emulator.events[first_event:]
        counter = start_counting(keep_text=True)
        for event in events:
            payload, signature = stack.emulator.signed(event["id"])
            response = await client.post(
                "/webhooks/stripe",
                content=payload,
                headers={"stripe-signature": signature, "content-type": "application/json"},
            )
            if response.status_code != 200:
                raise FlowError("webhook", f"HTTP {response.status_code}: {response.text}")
        counted("webhooks")
        counter = start_counting(keep_text=True)
        await _run_jobs(stack.settings)
        counted("jobs")
        data, _ = await graphql(client, "order", ORDER_STATE, {"id": order_id}, buyer.authorization)
    if data["order"]["status"] != "PAID":
        raise FlowError("in-process flow", f"the order ended {data['order']}, not PAID")
    return FlowStatements(**counts, webhooks_sent=len(events), texts=tuple(texts))
