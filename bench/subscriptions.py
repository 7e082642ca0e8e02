"""Live order status under load: `uv run python -m bench.subscriptions`.

It starts its own embedded PostgreSQL and Redis (or uses DATABASE_URL and REDIS_URL),
migrates and seeds a small catalog, starts one API process (uvicorn, uvloop, httptools,
one worker, production environment, LOG_LEVEL=WARNING) and measures, over
graphql-transport-ws sockets, one subscription a socket:

- idle subscribers: N sockets each holding one orderStatusChanged, the server's resident
  memory (VmRSS) before and after them, so the memory each costs; then one transition
  must reach every one of them (the figure stands only if it does);
- delivery latency at 1, 100 and 1,000 subscribers of one order: for each transition,
  from the commit of its transaction (taken here, where it commits) to the arrival of its
  `next` message at each subscriber; p50 and p99 over every (transition, subscriber).

The subscribers run in this process, on uvloop; `time.perf_counter` is the same clock
for the commit and the arrivals. They share the machine with the server, PostgreSQL and
Redis, so at 1,000 subscribers the figure includes the clients' own reading time.
Options: --idle N (5,000), --latency 1,100,1000, --no-deflate (clients do not offer
permessage-deflate, which browsers do), --json PATH (also write the figures there).

The `subscription-fanout` row of `python -m bench` measures the same fan-out with this
module's `Setup` and bench/subscription_load.py, on the benchmark's API server.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import orjson
import sqlalchemy as sa
import uvloop
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.subscription_load import WAIT_SECONDS, run_transitions, subscribers, transition
from core.db import create_engine
from core.embedded import embedded_servers
from core.migrate import upgrade_to_head_async
from core.redis import create_redis
from core.settings import Environment, Settings
from models.account import User
from services.accounts.demo import ensure_demo_accounts
from services.accounts.sessions import AccountPolicy, sign_in_user
from services.orders.lifecycle import Actor, ActorKind
from services.orders.ordering import create_order
from services.vehicles.seed import seed_catalog

ROOT = Path(__file__).resolve().parent.parent
LATENCY_ROUNDS = {1: 200, 100: 60, 1000: 30}  # subscribers: transitions measured
users: sa.Table = User.__table__  # type: ignore[attr-defined]


@dataclass(slots=True)
class Setup:
    settings: Settings
    engine: AsyncEngine
    redis: Any
    url: str
    token: str
    buyer_id: int
    vehicles: list[int]
    pid: int
    compression: str | None  # what the clients offer: "deflate" (as browsers do) or None
    quiet: bool = False  # say nothing on stderr while measuring

    async def new_order(self) -> int:
        """A RESERVED order (events 1 to 3) on a vehicle no other order holds."""
        outcome = await create_order(
            self.engine, self.redis, customer=Actor(ActorKind.BUYER, self.buyer_id),
            buyer_id=self.buyer_id, partner_id=None, vehicle_id=self.vehicles.pop(),
            destination_country="DE", reserve=True,
        )  # fmt: skip
        return outcome.order_id

    def listening(self, count: int) -> None:
        if not self.quiet:
            print(f"  {count} subscribers listening", file=sys.stderr, flush=True)


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")


async def measure_idle(setup: Setup, count: int) -> dict[str, Any]:
    order_id = await setup.new_order()
    async with subscribers(
        setup.url, setup.token, order_id, 1, compression=setup.compression
    ):  # warm the code paths
        pass
    await asyncio.sleep(1)
    before = rss_bytes(setup.pid)
    async with subscribers(
        setup.url, setup.token, order_id, count, compression=setup.compression
    ) as arrivals:
        setup.listening(count)
        await asyncio.sleep(2)
        after = rss_bytes(setup.pid)
        committed = await transition(setup.engine, setup.redis, order_id, 4, setup.buyer_id)
        await asyncio.wait_for(arrivals.done(4).wait(), WAIT_SECONDS)
        last = max(arrivals.times[4]) - committed
    return {
        "subscribers": count, "rssBeforeMiB": round(before / 2**20, 1),
        "rssAfterMiB": round(after / 2**20, 1),
        "bytesPerSubscriber": round((after - before) / count),
        "allReachedInMs": round(last * 1000, 1),
    }  # fmt: skip


async def measure_latency(setup: Setup, count: int, rounds: int) -> dict[str, Any]:
    order_id = await setup.new_order()
    async with subscribers(
        setup.url, setup.token, order_id, count, compression=setup.compression
    ) as arrivals:
        setup.listening(count)
        samples = await run_transitions(
            setup.engine, setup.redis, order_id, setup.buyer_id, arrivals,
            first=4, rounds=rounds, pause=0.02,
        )  # fmt: skip
    cuts = statistics.quantiles(samples, n=100, method="inclusive")
    return {
        "subscribers": count, "transitions": rounds, "samples": len(samples),
        "p50Ms": round(cuts[49], 2), "p99Ms": round(cuts[98], 2), "maxMs": round(max(samples), 2),
    }  # fmt: skip


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def api_server(settings: Settings, log_path: Path) -> Iterator[tuple[str, int]]:
    """One uvicorn process serving the API; (base URL, pid)."""
    port = _free_port()
    env = {
        **os.environ, "ENVIRONMENT": "production", "LOG_LEVEL": "WARNING",
        "DATABASE_URL": settings.database_url or "", "REDIS_URL": settings.redis_url or "",
        "JWT_SECRET": settings.jwt_secret.get_secret_value(),
        "ACCESS_TOKEN_TTL_SECONDS": str(settings.access_token_ttl_seconds),
        "WS_MAX_SUBSCRIPTIONS_PER_CONNECTION": "20",
    }  # fmt: skip
    command = [
        sys.executable, "-m", "uvicorn", "core.app:create_app", "--factory", "--host",
        "127.0.0.1", "--port", str(port), "--loop", "uvloop", "--http", "httptools",
        "--workers", "1", "--no-access-log", "--log-level", "warning", "--backlog", "4096",
    ]  # fmt: skip
    with log_path.open("ab") as log:
        # The command is built here from sys.executable and constants.
        process = subprocess.Popen(  # noqa: S603
            command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
        )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the API did not start: see {log_path}")
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{base}/health/ready", timeout=2).status_code == 200:
                    break
            time.sleep(0.2)
        yield base, process.pid
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


async def prepare(settings: Settings) -> tuple[AsyncEngine, Any, int, int, list[int]]:
    """Migrated, seeded database; (engine, redis, admin id, buyer id, free vehicle ids)."""
    assert settings.database_url is not None
    assert settings.redis_url is not None
    await upgrade_to_head_async(settings.database_url)
    dsn = settings.database_url.replace("postgresql+asyncpg://", "postgresql://", 1)
    conn = await asyncpg.connect(dsn)
    try:
        if not await conn.fetchval("SELECT count(*) FROM vehicle"):
            await seed_catalog(conn, dealers=20, vehicles=400, seed=7)
        vehicles = [r["id"] for r in await conn.fetch(
            "SELECT id FROM vehicle WHERE status = 'AVAILABLE' ORDER BY id LIMIT 100")]  # fmt: skip
    finally:
        await conn.close()
    engine = create_engine(settings)
    await ensure_demo_accounts(engine)
    async with engine.connect() as c:
        ids = {row.email: row.id for row in await c.execute(sa.select(users.c.email, users.c.id))}
    return (engine, create_redis(settings.redis_url), ids["admin@example.com"],
            ids["buyer@example.com"], vehicles)  # fmt: skip


async def run(
    settings: Settings, idle: int, counts: list[int], log_path: Path, *, deflate: bool
) -> dict[str, Any]:
    engine, redis, admin_id, buyer_id, vehicles = await prepare(settings)
    token = (
        await sign_in_user(engine, AccountPolicy.from_settings(settings), admin_id)
    ).access_token
    try:
        with api_server(settings, log_path) as (base, pid):
            url = base.replace("http://", "ws://", 1) + "/graphql"
            setup = Setup(
                settings, engine, redis, url, f"Bearer {token}", buyer_id, vehicles, pid,
                compression="deflate" if deflate else None,
            )  # fmt: skip
            report: dict[str, Any] = {"idle": await measure_idle(setup, idle), "latency": []}
            for count in counts:
                rounds = LATENCY_ROUNDS.get(count, 30)
                report["latency"].append(await measure_latency(setup, count, rounds))
            return report
    finally:
        await redis.aclose()
        await engine.dispose()


def print_report(report: dict[str, Any]) -> None:
    idle = report["idle"]
    print(f"\nidle subscribers held by one API process: {idle['subscribers']}")
    print(
        f"  server RSS {idle['rssBeforeMiB']} MiB -> {idle['rssAfterMiB']} MiB: "
        f"{idle['bytesPerSubscriber'] / 1024:.1f} KiB per subscriber (socket included)"
    )
    print(f"  one transition reached all of them within {idle['allReachedInMs']} ms\n")
    heads = ("subscribers", "transitions", "samples", "p50 ms", "p99 ms", "max ms")
    print("".join(f"{head:>13}" for head in heads))
    for row in report["latency"]:
        keys = ("subscribers", "transitions", "samples", "p50Ms", "p99Ms", "maxMs")
        print("".join(f"{row[key]:>13}" for key in keys))


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.subscriptions", description=__doc__)
    parser.add_argument("--idle", type=int, default=5000, help="idle subscribers to open")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument(
        "--latency", default="1,100,1000", help="subscriber counts to measure latency at"
    )
    parser.add_argument(
        "--no-deflate", action="store_true", help="clients do not offer permessage-deflate"
    )
    args = parser.parse_args()
    secret = secrets.token_urlsafe(36)
    with tempfile.TemporaryDirectory(prefix="autobroker-bench-subs-") as tmp:
        data = Path(tmp)
        data.chmod(0o755)  # the embedded PostgreSQL may run as its own user
        external = bool(os.environ.get("DATABASE_URL") and os.environ.get("REDIS_URL"))
        with contextlib.ExitStack() as stack:
            if external:
                urls = {
                    "database_url": os.environ["DATABASE_URL"],
                    "redis_url": os.environ["REDIS_URL"],
                }
            else:
                embedded = stack.enter_context(embedded_servers(data / "servers"))
                urls = {"database_url": embedded.database_url, "redis_url": embedded.redis_url}
            settings = Settings(
                environment=Environment.PRODUCTION, access_token_ttl_seconds=3600,
                jwt_secret=secret, _env_file=None, **urls,  # type: ignore[arg-type]
            )  # fmt: skip
            counts = [int(part) for part in args.latency.split(",") if part]
            report = uvloop.run(
                run(settings, args.idle, counts, data / "api.log", deflate=not args.no_deflate)
            )
    print_report(report)
    if args.json:
        args.json.write_bytes(orjson.dumps(report, option=orjson.OPT_INDENT_2))


if __name__ == "__main__":
    main()
