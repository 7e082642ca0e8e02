"""`uv run python -m tests.fuzz --minutes 30`: the hostile-input suite for as long as
asked, on embedded PostgreSQL and Redis (or DATABASE_URL / REDIS_URL: a database it may
empty), printing what it sent and what came back. Exit status 1 if any rule broke."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import shutil
import tempfile
import time
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import sqlalchemy as sa

from core.db import create_engine
from core.embedded import embedded_servers
from core.migrate import upgrade_to_head_async
from core.settings import Environment, Settings
from models.account import UserRole
from services.accounts.partners import create_api_key
from services.accounts.sessions import AccountPolicy, sign_in_user
from services.vehicles.seed import seed_catalog
from tests.accounts_data import TestUser, create_user
from tests.fuzz.harness import Figures, fuzz_settings, live_app
from tests.fuzz.run import Callers, aftermath, client_for, send_corpus, send_generated

EXAMPLES_PER_ROUND = 200


@dataclass(frozen=True, slots=True)
class Cast:
    buyer: TestUser
    dealer: TestUser
    admin: TestUser
    partner_key: str

    def callers(self, settings: Settings) -> Callers:
        """Fresh sign-ins (a long run outlives an access token) for every kind of caller."""
        tokens = asyncio.run(_sign_in(settings, [self.buyer, self.dealer, self.admin]))
        return Callers.of(buyer=tokens[0], dealer=tokens[1], staff=tokens[2],
                          partner_key=self.partner_key)  # fmt: skip


async def _sign_in(settings: Settings, users: list[TestUser]) -> list[str]:
    engine = create_engine(settings)
    try:
        policy = AccountPolicy.from_settings(settings)
        return [(await sign_in_user(engine, policy, user.id)).access_token for user in users]
    finally:
        await engine.dispose()


async def _prepare(settings: Settings, dsn: str) -> Cast:
    assert settings.database_url is not None
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
    finally:
        await conn.close()
    await upgrade_to_head_async(settings.database_url)
    conn = await asyncpg.connect(dsn)
    try:
        await seed_catalog(conn, dealers=40, vehicles=800, seed=7)
    finally:
        await conn.close()
    engine = create_engine(settings)
    try:
        async with engine.connect() as db:
            dealer_id = (await db.execute(sa.text("SELECT min(id) FROM dealer"))).scalar_one()
        return Cast(
            buyer=await create_user(engine, settings, UserRole.BUYER),
            dealer=await create_user(engine, settings, UserRole.DEALER, dealer_id=dealer_id),
            admin=await create_user(engine, settings, UserRole.ADMIN),
            partner_key=(await create_api_key(engine, "fuzz-partner")).key,
        )
    finally:
        await engine.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.fuzz", description=__doc__)
    parser.add_argument("--minutes", type=float, default=30.0, help="how long to run")
    parser.add_argument("--seed", type=int, default=1, help="the first round's seed")
    arguments = parser.parse_args()
    # The server's own log of each refusal and failure would bury the figures.
    logging.disable(logging.ERROR)
    with ExitStack() as stack:
        database_url = os.environ.get("DATABASE_URL") or None
        redis_url = os.environ.get("REDIS_URL") or None
        if database_url is None or redis_url is None:
            data_dir = Path(tempfile.mkdtemp(prefix="autobroker-fuzz-"))
            data_dir.chmod(0o755)
            stack.callback(shutil.rmtree, data_dir, ignore_errors=True)
            urls = stack.enter_context(embedded_servers(
                data_dir, postgres=database_url is None, redis=redis_url is None))  # fmt: skip
            database_url = database_url or urls.database_url
            redis_url = redis_url or urls.redis_url
        settings = fuzz_settings(Settings(environment=Environment.TEST, database_url=database_url,
                                          redis_url=redis_url, log_level="CRITICAL",
                                          _env_file=None))  # fmt: skip
        assert settings.database_url is not None
        dsn = settings.database_url.replace("postgresql+asyncpg://", "postgresql://", 1)
        cast = asyncio.run(_prepare(settings, dsn))
        live = stack.enter_context(live_app(settings))
        client = stack.enter_context(client_for(live))
        figures = Figures()
        started = time.monotonic()
        until = started + arguments.minutes * 60
        send_corpus(client, figures, cast.callers(settings))
        round_seed = arguments.seed
        while time.monotonic() < until:
            send_generated(client, figures, cast.callers(settings), examples=EXAMPLES_PER_ROUND,
                           seed=round_seed, until=until)  # fmt: skip
            round_seed += 1
            elapsed = time.monotonic() - started
            print(f"[{elapsed / 60:5.1f} min] {sum(figures.requests.values()):,} requests, "
                  f"{len(figures.failures):,} failures", flush=True)  # fmt: skip
        send_corpus(client, figures, cast.callers(settings))
        left_behind = asyncio.run(aftermath(settings.database_url, live))
        print(f"\nseeds {arguments.seed}..{round_seed - 1}, {EXAMPLES_PER_ROUND} documents each")
        print(figures.report(time.monotonic() - started))
        for label, replay in figures.failing_requests.items():
            print(f"\nfailing request {label[:60]!r}:\n{replay}")
        print(
            "after the run: " + ("; ".join(left_behind) or "nothing left behind, invariants held")
        )
        return 1 if figures.failures or left_behind else 0


if __name__ == "__main__":
    raise SystemExit(main())
