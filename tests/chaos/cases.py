"""The chaos cases and what each must hold, shared by the test suite (short outages) and
`python -m tests.chaos` (long ones, printing the figures).

Each case runs the mixed load (tests/chaos/load.py), injects its fault, lifts it (or lets
`dev`'s supervisor restart the server), waits for recovery and lets the load run on.
Then, whatever happened:

- no request answered a 5xx other than 503, none ran past the bound, none was an
  INTERNAL_SERVER_ERROR; every refusal was 503 SERVICE_UNAVAILABLE (or a 429);
- no order lost (every order the API returned is a row), none half-written (every
  order's events run 1..n, a payment never applied twice, nothing PAID twice);
- no vehicle RESERVED without an active order;
- the outbox is empty again (every event published), and the live subscriber saw every
  event of its order in sequence, through its end, never a bare `complete`;
- recovery (ready again) within RECOVERY_SECONDS.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import asyncpg
import psutil

from schema.ids import decode_int_id
from tests.chaos.load import CANCEL, Follower, Load
from tests.chaos.stack import Stack

BOUND_SECONDS = 12.0  # statement timeout 5 s, connect and pool timeouts 3 s, plus load
RECOVERY_SECONDS = 15.0
CLIENTS = 4
ALLOWED_CODES = {"SERVICE_UNAVAILABLE", "RATE_LIMITED"}


@dataclass(frozen=True)
class Fault:
    name: str
    inject: Callable[[Stack], None]
    lift: Callable[[Stack], None]  # nothing to do when dev's supervisor restarts it
    # Only PostgreSQL's absence may refuse requests: without Redis (or a worker) the
    # catalog, sign-in, orders and payments go on.
    refusals: bool = False


def _nothing(stack: Stack) -> None:
    return None


def _pause_redis(stack: Stack) -> None:
    stack.pause([stack.redis_process()])


def _pause_postgres(stack: Stack) -> None:
    stack.pause(stack.postgres_processes())


def _lift_pause(stack: Stack) -> None:
    stack.resume()


def _kill_worker(stack: Stack) -> None:
    worker = stack.workers[-1]
    for child in psutil.Process(worker.pid).children(recursive=True):
        child.kill()
    worker.kill()
    worker.wait(timeout=10)


def _restart_worker(stack: Stack) -> None:
    stack.start_worker()


FAULTS = {
    "redis-killed": Fault("redis-killed", Stack.kill_redis, _nothing),
    "redis-paused": Fault("redis-paused", _pause_redis, _lift_pause),
    "postgres-paused": Fault("postgres-paused", _pause_postgres, _lift_pause, refusals=True),
    "postgres-restarted": Fault("postgres-restarted", Stack.kill_postgres, _nothing, refusals=True),
    "worker-killed": Fault("worker-killed", _kill_worker, _restart_worker),
}


@dataclass
class CaseResult:
    fault: Fault
    outage_seconds: float
    recovery_seconds: float
    lifted_at: float
    load: Load
    follower: Follower

    def figures(self) -> dict[str, Any]:
        return {
            "case": self.fault.name,
            "outage s": round(self.outage_seconds, 1),
            **self.load.summary(),
            "recovery s": round(self.recovery_seconds, 1),
            "slowest s": round(max(o.seconds for o in self.load.outcomes), 2),
        }


async def run_case(stack: Stack, fault: Fault, *, outage: float, after: float = 3.0) -> CaseResult:
    load = Load(stack.base_url, BOUND_SECONDS)
    async with _client() as client:
        assert await load.sign_in(client), stack.log_tail()
        followed = await load.place_order(client, pay=False)
    assert followed is not None, stack.log_tail()
    assert load.token is not None
    follower = Follower(stack.base_url, load.token, followed)
    following = asyncio.create_task(follower.run())
    stop = asyncio.Event()
    clients = [asyncio.create_task(load.client_loop(stop, number)) for number in range(CLIENTS)]
    await asyncio.sleep(2.0)
    await asyncio.to_thread(fault.inject, stack)
    await asyncio.sleep(outage)
    lifted = time.monotonic()
    await asyncio.to_thread(fault.lift, stack)
    await asyncio.to_thread(stack.wait_ready, RECOVERY_SECONDS * 2)
    recovery = time.monotonic() - lifted
    await asyncio.sleep(after)
    stop.set()
    await asyncio.wait_for(asyncio.gather(*clients), BOUND_SECONDS * 3)
    # The followed order ends now: its subscriber must see every event through CANCELLED.
    async with _client() as client:
        ended = None
        for _ in range(20):
            ended = await load.call(client, "cancelOrder", CANCEL, {"input": {"orderId": followed}})
            if ended is not None:
                break
            await asyncio.sleep(0.5)
        assert ended is not None, stack.log_tail()
    await asyncio.wait_for(following, 30)
    return CaseResult(fault, outage, recovery, lifted, load, follower)


def _client() -> Any:
    import httpx

    return httpx.AsyncClient()


async def check_case(stack: Stack, result: CaseResult) -> None:
    """Every promise of the module docstring, for one case."""
    load = result.load
    bad = [
        o
        for o in load.outcomes
        if not (o.status == 200 or o.status in (503, 429))
        or o.seconds > BOUND_SECONDS
        or set(o.codes) - ALLOWED_CODES
    ]
    assert bad == [], (bad[:10], stack.log_tail())
    assert [
        o for o in load.outcomes if o.status == 503 and "SERVICE_UNAVAILABLE" not in o.codes
    ] == []
    if not result.fault.refusals:
        refused = [o for o in load.outcomes if o.status != 200 or o.codes]
        assert refused == [], (refused[:10], stack.log_tail())
    recovered_at = result.lifted_at + result.recovery_seconds
    assert [o for o in load.outcomes if o.status == 200 and o.at > recovered_at], "none served"
    follower = result.follower
    assert follower.bare_completes == 0
    assert set(follower.errors) <= {"SERVICE_UNAVAILABLE"}
    assert follower.sequences == list(range(1, len(follower.sequences) + 1)), follower.sequences
    assert follower.statuses[-1] == "CANCELLED"
    assert result.recovery_seconds < RECOVERY_SECONDS, result.figures()
    await check_database(stack, load)


async def check_database(stack: Stack, load: Load) -> None:
    conn = await asyncpg.connect(stack.database_dsn, timeout=10)
    try:
        ids = [decode_int_id(order, "Order") for order in load.orders]
        found = await conn.fetchval("SELECT count(*) FROM orders WHERE id = ANY($1::bigint[])", ids)
        assert found == len(ids), "an order the API returned is missing"
        gaps = await conn.fetch(
            "SELECT order_id FROM order_event GROUP BY order_id HAVING max(sequence) <> count(*)"
        )
        assert gaps == []
        # (the demo data lists some vehicles RESERVED without orders: only the load's count)
        reserved_alone = await conn.fetch(
            """SELECT v.id FROM vehicle v WHERE v.status = 'RESERVED'
               AND v.id IN (SELECT vehicle_id FROM orders WHERE id = ANY($1::bigint[]))
               AND NOT EXISTS (SELECT 1 FROM orders o WHERE o.vehicle_id = v.id
                 AND o.status IN ('RESERVED', 'PAYMENT_PENDING', 'PAYMENT_FAILED'))""",
            ids,
        )
        assert reserved_alone == []
        twice_paid = await conn.fetch(
            """SELECT order_id FROM order_event WHERE to_status = 'PAID'
               GROUP BY order_id HAVING count(*) > 1
               UNION SELECT order_id FROM payment WHERE status IN ('SUCCEEDED', 'REFUNDED')
               GROUP BY order_id HAVING count(*) > 1"""
        )
        assert twice_paid == []
        deadline = time.monotonic() + 10
        while await conn.fetchval("SELECT count(*) FROM order_event_outbox"):
            assert time.monotonic() < deadline, "the outbox was not relayed"
            await asyncio.sleep(0.5)
    finally:
        await conn.close()


async def wait_all_paid(stack: Stack, orders: set[str], timeout: float) -> float:
    """Seconds until every order whose payment was confirmed is PAID (webhook jobs, or
    reconciliation for a job a killed worker held)."""
    ids = [decode_int_id(order, "Order") for order in orders]
    started = time.monotonic()
    conn = await asyncpg.connect(stack.database_dsn, timeout=10)
    try:
        while True:
            unpaid = await conn.fetch(
                "SELECT id, status FROM orders WHERE id = ANY($1::bigint[]) AND status <> 'PAID'",
                ids,
            )
            if not unpaid:
                return time.monotonic() - started
            assert time.monotonic() - started < timeout, [dict(row) for row in unpaid]
            await asyncio.sleep(1)
    finally:
        await conn.close()
